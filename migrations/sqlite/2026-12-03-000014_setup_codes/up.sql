-- The first administrator of a new installation is whoever holds a setup code: one the server
-- writes to its log when it starts with no administrator (`accounts::setup`). Only a digest is
-- kept; every server that starts adds its own, and the first registration that uses one takes
-- them all away. Without this, whoever reached a new installation first owned it.
CREATE TABLE setup_codes (
    code_hash  TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- A client's portal account deactivated through user management (not by revoking the contact's
-- portal access): staff who may edit contacts must not bring it back with a new invitation.
ALTER TABLE users ADD COLUMN deactivated_by_manager BOOLEAN NOT NULL DEFAULT FALSE;
