DROP TABLE app_settings;
