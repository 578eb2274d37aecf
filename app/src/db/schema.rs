//! Diesel table definitions, shared by both backends (the migrations keep them identical).

diesel::table! {
    /// Counters that move whenever a kind of data changes (kept by triggers); see migration 7.
    data_versions (name) {
        name -> Text,
        instance -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Digests of the setup codes that let the first administrator register (migration 14).
    setup_codes (code_hash) {
        code_hash -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    app_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Diesel's own bookkeeping, read to show the schema version.
    __diesel_schema_migrations (version) {
        version -> Text,
        run_on -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        kind -> Text,
        is_active -> Bool,
        is_admin -> Bool,
        contact_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        deactivated_by_manager -> Bool,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        data -> Binary,
        expires_at -> Timestamp,
        user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        email -> Text,
        ip -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    staff_groups (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_permissions (group_id, permission) {
        group_id -> BigInt,
        permission -> Text,
    }
}

diesel::table! {
    group_members (user_id, group_id) {
        user_id -> BigInt,
        group_id -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        action -> Text,
        subject -> Text,
        before_state -> Nullable<Text>,
        after_state -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    password_tokens (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(group_permissions -> staff_groups (group_id));
diesel::joinable!(group_members -> staff_groups (group_id));
diesel::joinable!(group_members -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_settings,
    data_versions,
    users,
    sessions,
    login_failures,
    staff_groups,
    group_permissions,
    group_members,
    audit_log,
);

diesel::table! {
    contact_statuses (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        color -> Text,
        position -> Integer,
    }
}

diesel::table! {
    services (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        position -> Integer,
    }
}

diesel::table! {
    traffic_sources (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        position -> Integer,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        first_name -> Text,
        last_name -> Text,
        email -> Nullable<Text>,
        phone -> Text,
        company -> Text,
        job_title -> Text,
        street -> Text,
        city -> Text,
        postal_code -> Text,
        country -> Text,
        website -> Text,
        notes -> Text,
        status_id -> Nullable<BigInt>,
        traffic_source_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        updated_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        extra_fields -> Text,
        search_text -> Text,
    }
}

diesel::table! {
    contact_tags (contact_id, tag_id) {
        contact_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    contact_services (contact_id, service_id) {
        contact_id -> BigInt,
        service_id -> BigInt,
    }
}

diesel::table! {
    activities (id) {
        id -> BigInt,
        contact_id -> BigInt,
        kind -> Text,
        subject -> Text,
        body -> Text,
        happened_at -> Timestamp,
        due_on -> Nullable<Date>,
        done_at -> Nullable<Timestamp>,
        author_id -> Nullable<BigInt>,
        author_name -> Text,
        changes -> Nullable<Text>,
        created_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The trigram search index over `contacts.search_text` (`rowid` = contact id): an FTS5 table
    /// on SQLite, a view over the pg_trgm-indexed column on PostgreSQL.
    contacts_search (rowid) {
        rowid -> BigInt,
        search_text -> Text,
    }
}

diesel::table! {
    field_sections (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        position -> Integer,
    }
}

diesel::table! {
    contact_fields (id) {
        id -> BigInt,
        field_key -> Text,
        label -> Text,
        kind -> Text,
        help -> Text,
        required -> Bool,
        is_unique -> Bool,
        default_value -> Text,
        section_id -> Nullable<BigInt>,
        position -> Integer,
        searchable -> Bool,
        portal_visible -> Bool,
        decimals -> Integer,
        unit -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    field_options (id) {
        id -> BigInt,
        field_id -> BigInt,
        label -> Text,
        label_key -> Text,
        color -> Text,
        position -> Integer,
        retired -> Bool,
    }
}

diesel::table! {
    contact_field_values (contact_id, field_id, position) {
        contact_id -> BigInt,
        field_id -> BigInt,
        position -> Integer,
        value -> Text,
        value_key -> Text,
        value_number -> Nullable<Double>,
        option_id -> Nullable<BigInt>,
        unique_key -> Nullable<Text>,
    }
}

diesel::table! {
    contact_list_columns (user_id) {
        user_id -> BigInt,
        column_keys -> Text,
    }
}

diesel::table! {
    /// Contact imports (migration 11): file, settings, the job's state and its counts.
    imports (id) {
        id -> BigInt,
        created_by -> Nullable<BigInt>,
        created_by_name -> Text,
        run_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        file_name -> Text,
        file_size -> BigInt,
        file_sha256 -> Text,
        settings -> Text,
        preview -> Text,
        state -> Text,
        total_rows -> BigInt,
        rows_done -> BigInt,
        created_count -> BigInt,
        updated_count -> BigInt,
        unchanged_count -> BigInt,
        skipped_count -> BigInt,
        error_count -> BigInt,
        changed_count -> BigInt,
        cancel_requested -> Bool,
        worker -> Nullable<Text>,
        heartbeat_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        message -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    import_chunks (import_id, seq) {
        import_id -> BigInt,
        seq -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    import_rows (import_id, row_number) {
        import_id -> BigInt,
        row_number -> BigInt,
        outcome -> Text,
        contact_id -> Nullable<BigInt>,
        contact_version -> Nullable<BigInt>,
        column_name -> Text,
        message -> Text,
        changes -> Text,
        before_input -> Nullable<Text>,
        after_input -> Nullable<Text>,
        cells -> Nullable<Text>,
        applied -> Bool,
        result -> Text,
        after_version -> Nullable<BigInt>,
        undo_result -> Text,
    }
}

diesel::table! {
    /// Segments (migration 12): static, dynamic and snapshot lists of contacts.
    segments (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        rules -> Text,
        owner_id -> Nullable<BigInt>,
        owner_name -> Text,
        shared -> Bool,
        generation -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        refreshed_at -> Nullable<Timestamp>,
        synced_key -> Text,
        synced_at -> Nullable<Timestamp>,
        version -> BigInt,
    }
}

diesel::table! {
    segment_members (segment_id, generation, contact_id) {
        segment_id -> BigInt,
        generation -> BigInt,
        contact_id -> BigInt,
        added_by -> Nullable<BigInt>,
        added_by_name -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    segment_generations (segment_id, generation) {
        segment_id -> BigInt,
        generation -> BigInt,
        taken_at -> Timestamp,
        size -> BigInt,
    }
}

diesel::table! {
    segment_events (id) {
        id -> BigInt,
        segment_id -> BigInt,
        contact_id -> BigInt,
        contact_name -> Text,
        entered -> Bool,
        at -> Timestamp,
    }
}

diesel::table! {
    segment_sizes (segment_id, day) {
        segment_id -> BigInt,
        day -> Date,
        size -> BigInt,
    }
}

diesel::joinable!(activities -> contacts (contact_id));
diesel::joinable!(contact_tags -> contacts (contact_id));
diesel::joinable!(contact_tags -> tags (tag_id));
diesel::joinable!(contact_services -> contacts (contact_id));
diesel::joinable!(contact_services -> services (service_id));
diesel::joinable!(contacts -> contact_statuses (status_id));
diesel::joinable!(contacts -> traffic_sources (traffic_source_id));
diesel::joinable!(contact_fields -> field_sections (section_id));
diesel::joinable!(field_options -> contact_fields (field_id));
diesel::joinable!(contact_field_values -> contacts (contact_id));
diesel::joinable!(contact_field_values -> contact_fields (field_id));
diesel::joinable!(contact_field_values -> field_options (option_id));
diesel::joinable!(import_chunks -> imports (import_id));
diesel::joinable!(import_rows -> imports (import_id));
diesel::joinable!(segment_members -> segments (segment_id));
diesel::joinable!(segment_members -> contacts (contact_id));
diesel::joinable!(segment_generations -> segments (segment_id));
diesel::joinable!(segment_events -> segments (segment_id));
diesel::joinable!(segment_sizes -> segments (segment_id));

diesel::allow_tables_to_appear_in_same_query!(
    activities,
    contacts,
    contacts_search,
    contact_statuses,
    services,
    traffic_sources,
    tags,
    contact_tags,
    contact_services,
    users,
    field_sections,
    contact_fields,
    field_options,
    contact_field_values,
    contact_list_columns,
    imports,
    import_chunks,
    import_rows,
    segments,
    segment_members,
    segment_generations,
    segment_events,
    segment_sizes,
);
