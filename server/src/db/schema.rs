// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        #[max_length = 200]
        name -> Varchar,
        #[max_length = 10]
        kind -> Varchar,
        #[max_length = 16]
        prefix -> Varchar,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Int8>,
        #[max_length = 40]
        object_kind -> Varchar,
        object_id -> Int8,
        product_id -> Nullable<Int8>,
        #[max_length = 40]
        action -> Varchar,
        changes -> Jsonb,
    }
}

diesel::table! {
    custom_fields (id) {
        id -> Int8,
        product_type_id -> Nullable<Int8>,
        #[max_length = 100]
        name -> Varchar,
        description -> Nullable<Text>,
        #[max_length = 20]
        kind -> Varchar,
        choices -> Array<Text>,
        applies_to -> Array<Text>,
        import_keys -> Array<Text>,
        active -> Bool,
        creator_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    development_environments (id) {
        id -> Int8,
        #[max_length = 200]
        name -> Varchar,
    }
}

diesel::table! {
    engagements (id) {
        id -> Int8,
        product_id -> Int8,
        #[max_length = 300]
        name -> Nullable<Varchar>,
        #[max_length = 2000]
        description -> Nullable<Varchar>,
        #[max_length = 100]
        version -> Nullable<Varchar>,
        first_contacted -> Nullable<Date>,
        target_start -> Date,
        target_end -> Date,
        lead_id -> Nullable<Int8>,
        active -> Bool,
        #[max_length = 30]
        status -> Varchar,
        #[max_length = 30]
        engagement_type -> Varchar,
        #[max_length = 150]
        build_id -> Nullable<Varchar>,
        #[max_length = 150]
        commit_hash -> Nullable<Varchar>,
        #[max_length = 150]
        branch_tag -> Nullable<Varchar>,
        #[max_length = 600]
        source_code_management_uri -> Nullable<Varchar>,
        deduplication_on_engagement -> Bool,
        #[max_length = 200]
        tracker -> Nullable<Varchar>,
        #[max_length = 200]
        test_strategy -> Nullable<Varchar>,
        #[max_length = 2000]
        reason -> Nullable<Varchar>,
        threat_model -> Bool,
        api_test -> Bool,
        pen_test -> Bool,
        check_list -> Bool,
        tags -> Array<Text>,
        inherited_tags -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        custom_fields -> Jsonb,
    }
}

diesel::table! {
    event_log (id) {
        id -> Int2,
        pruned_through -> Int8,
    }
}

diesel::table! {
    events (seq) {
        seq -> Int8,
        #[max_length = 40]
        kind -> Varchar,
        finding_id -> Nullable<Int8>,
        product_id -> Nullable<Int8>,
        product_type_id -> Nullable<Int8>,
        engagement_id -> Nullable<Int8>,
        test_id -> Nullable<Int8>,
        actor_id -> Nullable<Int8>,
        changes -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    files (id) {
        id -> Int8,
        finding_id -> Nullable<Int8>,
        test_id -> Nullable<Int8>,
        engagement_id -> Nullable<Int8>,
        product_id -> Int8,
        #[max_length = 255]
        name -> Varchar,
        #[max_length = 200]
        content_type -> Varchar,
        size -> Int8,
        #[max_length = 64]
        sha256 -> Bpchar,
        content -> Bytea,
        uploaded_by_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        risk_acceptance_id -> Nullable<Int8>,
    }
}

diesel::table! {
    finding_cwes (id) {
        id -> Int8,
        finding_id -> Int8,
        #[max_length = 11]
        cwe -> Varchar,
    }
}

diesel::table! {
    finding_found_by (finding_id, test_type_id) {
        finding_id -> Int8,
        test_type_id -> Int8,
    }
}

diesel::table! {
    finding_group_findings (finding_group_id, finding_id) {
        finding_group_id -> Int8,
        finding_id -> Int8,
    }
}

diesel::table! {
    finding_groups (id) {
        id -> Int8,
        test_id -> Int8,
        product_id -> Int8,
        #[max_length = 255]
        name -> Varchar,
        creator_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    finding_request_responses (id) {
        id -> Int8,
        finding_id -> Int8,
        burp_request_base64 -> Text,
        burp_response_base64 -> Text,
    }
}

diesel::table! {
    finding_reviewers (finding_id, user_id) {
        finding_id -> Int8,
        user_id -> Int8,
    }
}

diesel::table! {
    finding_templates (id) {
        id -> Int8,
        #[max_length = 1000]
        title -> Varchar,
        cwe -> Nullable<Int4>,
        #[max_length = 200]
        severity -> Nullable<Varchar>,
        description -> Nullable<Text>,
        mitigation -> Nullable<Text>,
        impact -> Nullable<Text>,
        references -> Nullable<Text>,
        vulnerability_ids -> Array<Text>,
        tags -> Array<Text>,
        creator_id -> Nullable<Int8>,
        last_used -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    finding_vulnerability_ids (finding_id, vulnerability_id) {
        finding_id -> Int8,
        position -> Int2,
        #[max_length = 50]
        vulnerability_id -> Varchar,
    }
}

diesel::table! {
    findings (id) {
        id -> Int8,
        test_id -> Int8,
        engagement_id -> Int8,
        product_id -> Int8,
        #[max_length = 511]
        title -> Varchar,
        date -> Date,
        #[max_length = 8]
        severity -> Varchar,
        #[max_length = 4]
        numerical_severity -> Varchar,
        description -> Text,
        mitigation -> Nullable<Text>,
        impact -> Nullable<Text>,
        steps_to_reproduce -> Nullable<Text>,
        severity_justification -> Nullable<Text>,
        references -> Nullable<Text>,
        url -> Nullable<Text>,
        param -> Nullable<Text>,
        payload -> Nullable<Text>,
        cwe -> Int4,
        #[max_length = 50]
        cve -> Nullable<Varchar>,
        #[max_length = 500]
        vuln_id_from_tool -> Nullable<Varchar>,
        #[max_length = 500]
        unique_id_from_tool -> Nullable<Varchar>,
        #[max_length = 117]
        cvssv3 -> Nullable<Varchar>,
        cvssv3_score -> Nullable<Float4>,
        #[max_length = 255]
        cvssv4 -> Nullable<Varchar>,
        cvssv4_score -> Nullable<Float4>,
        epss_score -> Nullable<Float4>,
        epss_percentile -> Nullable<Float4>,
        known_exploited -> Bool,
        ransomware_used -> Bool,
        kev_date -> Nullable<Date>,
        active -> Bool,
        verified -> Bool,
        false_p -> Bool,
        duplicate -> Bool,
        duplicate_finding_id -> Nullable<Int8>,
        out_of_scope -> Bool,
        risk_accepted -> Bool,
        under_review -> Bool,
        review_requested_by_id -> Nullable<Int8>,
        under_defect_review -> Bool,
        is_mitigated -> Bool,
        mitigated -> Nullable<Timestamptz>,
        mitigated_by_id -> Nullable<Int8>,
        last_status_update -> Timestamptz,
        last_reviewed -> Nullable<Timestamptz>,
        last_reviewed_by_id -> Nullable<Int8>,
        sla_start_date -> Nullable<Date>,
        sla_expiration_date -> Nullable<Date>,
        #[max_length = 4000]
        file_path -> Nullable<Varchar>,
        line -> Nullable<Int4>,
        #[max_length = 500]
        component_name -> Nullable<Varchar>,
        #[max_length = 100]
        component_version -> Nullable<Varchar>,
        #[max_length = 500]
        sast_source_object -> Nullable<Varchar>,
        #[max_length = 500]
        sast_sink_object -> Nullable<Varchar>,
        sast_source_line -> Nullable<Int4>,
        #[max_length = 4000]
        sast_source_file_path -> Nullable<Varchar>,
        reporter_id -> Nullable<Int8>,
        static_finding -> Bool,
        dynamic_finding -> Bool,
        scanner_confidence -> Nullable<Int4>,
        nb_occurences -> Nullable<Int4>,
        publish_date -> Nullable<Date>,
        fix_available -> Nullable<Bool>,
        #[max_length = 100]
        fix_version -> Nullable<Varchar>,
        planned_remediation_date -> Nullable<Date>,
        #[max_length = 99]
        planned_remediation_version -> Nullable<Varchar>,
        #[max_length = 99]
        effort_for_fixing -> Nullable<Varchar>,
        #[max_length = 64]
        hash_code -> Nullable<Varchar>,
        #[max_length = 200]
        service -> Nullable<Varchar>,
        tags -> Array<Text>,
        inherited_tags -> Array<Text>,
        extra -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        custom_fields -> Jsonb,
    }
}

diesel::table! {
    global_roles (id) {
        id -> Int8,
        user_id -> Nullable<Int8>,
        group_id -> Nullable<Int8>,
        role_id -> Int2,
    }
}

diesel::table! {
    group_members (id) {
        id -> Int8,
        group_id -> Int8,
        user_id -> Int8,
        role_id -> Int2,
    }
}

diesel::table! {
    groups (id) {
        id -> Int8,
        #[max_length = 255]
        name -> Varchar,
        #[max_length = 4000]
        description -> Varchar,
        #[max_length = 10]
        social_provider -> Nullable<Varchar>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    jira_instances (id) {
        id -> Int8,
        #[max_length = 2000]
        configuration_name -> Varchar,
        #[max_length = 2000]
        url -> Varchar,
        #[max_length = 2000]
        username -> Varchar,
        password -> Text,
        #[max_length = 15]
        default_issue_type -> Varchar,
        #[max_length = 255]
        issue_template_dir -> Nullable<Varchar>,
        epic_name_id -> Nullable<Int4>,
        open_status_key -> Nullable<Int4>,
        close_status_key -> Nullable<Int4>,
        #[max_length = 200]
        info_mapping_severity -> Varchar,
        #[max_length = 200]
        low_mapping_severity -> Varchar,
        #[max_length = 200]
        medium_mapping_severity -> Varchar,
        #[max_length = 200]
        high_mapping_severity -> Varchar,
        #[max_length = 200]
        critical_mapping_severity -> Varchar,
        finding_text -> Nullable<Text>,
        #[max_length = 300]
        accepted_mapping_resolution -> Nullable<Varchar>,
        #[max_length = 300]
        false_positive_mapping_resolution -> Nullable<Varchar>,
        global_jira_sla_notification -> Bool,
        finding_jira_sync -> Bool,
    }
}

diesel::table! {
    jira_issues (id) {
        id -> Int8,
        jira_project_id -> Nullable<Int8>,
        #[max_length = 200]
        jira_id -> Varchar,
        #[max_length = 200]
        jira_key -> Varchar,
        finding_id -> Nullable<Int8>,
        finding_group_id -> Nullable<Int8>,
        engagement_id -> Nullable<Int8>,
        jira_creation -> Nullable<Timestamptz>,
        jira_change -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    jira_projects (id) {
        id -> Int8,
        jira_instance_id -> Nullable<Int8>,
        product_id -> Nullable<Int8>,
        engagement_id -> Nullable<Int8>,
        #[max_length = 200]
        project_key -> Varchar,
        #[max_length = 200]
        component -> Varchar,
        custom_fields -> Nullable<Jsonb>,
        close_transition_fields -> Nullable<Jsonb>,
        reopen_transition_fields -> Nullable<Jsonb>,
        #[max_length = 200]
        default_assignee -> Nullable<Varchar>,
        #[max_length = 200]
        jira_labels -> Nullable<Varchar>,
        add_vulnerability_id_to_jira_label -> Bool,
        push_all_issues -> Bool,
        enable_engagement_epic_mapping -> Bool,
        #[max_length = 64]
        epic_issue_type_name -> Varchar,
        push_notes -> Bool,
        product_jira_sla_notification -> Bool,
        risk_acceptance_expiration_notification -> Bool,
        enabled -> Bool,
    }
}

diesel::table! {
    jira_push_requests (id) {
        id -> Int8,
        finding_id -> Nullable<Int8>,
        finding_group_id -> Nullable<Int8>,
        requested_at -> Timestamptz,
    }
}

diesel::table! {
    job_files (job_id) {
        job_id -> Int8,
        #[max_length = 255]
        file_name -> Varchar,
        data -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        #[max_length = 40]
        kind -> Varchar,
        payload -> Jsonb,
        #[max_length = 10]
        status -> Varchar,
        attempts -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        #[max_length = 100]
        locked_by -> Nullable<Varchar>,
        locked_at -> Nullable<Timestamptz>,
        progress_done -> Int8,
        progress_total -> Nullable<Int8>,
        last_error -> Nullable<Text>,
        result -> Nullable<Jsonb>,
        created_by_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    location_finding_refs (id) {
        id -> Int8,
        location_id -> Int8,
        finding_id -> Int8,
        #[max_length = 13]
        status -> Varchar,
        auditor_id -> Nullable<Int8>,
        audit_time -> Nullable<Timestamptz>,
        #[max_length = 8]
        relationship -> Varchar,
        relationship_data -> Jsonb,
    }
}

diesel::table! {
    location_product_refs (id) {
        id -> Int8,
        location_id -> Int8,
        product_id -> Int8,
        #[max_length = 9]
        status -> Varchar,
    }
}

diesel::table! {
    locations (id) {
        id -> Int8,
        #[max_length = 12]
        location_type -> Varchar,
        #[max_length = 2048]
        location_value -> Varchar,
        #[max_length = 64]
        identity_hash -> Bpchar,
        #[max_length = 10]
        protocol -> Varchar,
        #[max_length = 512]
        user_info -> Varchar,
        #[max_length = 256]
        host -> Varchar,
        port -> Nullable<Int4>,
        #[max_length = 2048]
        path -> Varchar,
        #[max_length = 2048]
        query -> Varchar,
        #[max_length = 2048]
        fragment -> Varchar,
        host_validation_failure -> Bool,
        tags -> Array<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    note_history (id) {
        id -> Int8,
        note_id -> Int8,
        data -> Text,
        time -> Timestamptz,
        current_editor_id -> Nullable<Int8>,
        note_type_id -> Nullable<Int8>,
    }
}

diesel::table! {
    note_types (id) {
        id -> Int8,
        #[max_length = 100]
        name -> Varchar,
        #[max_length = 200]
        description -> Varchar,
        is_single -> Bool,
        is_active -> Bool,
        is_mandatory -> Bool,
    }
}

diesel::table! {
    notes (id) {
        id -> Int8,
        entry -> Text,
        date -> Timestamptz,
        author_id -> Nullable<Int8>,
        private -> Bool,
        edited -> Bool,
        editor_id -> Nullable<Int8>,
        edit_time -> Nullable<Timestamptz>,
        note_type_id -> Nullable<Int8>,
        finding_id -> Nullable<Int8>,
        test_id -> Nullable<Int8>,
        engagement_id -> Nullable<Int8>,
        product_id -> Int8,
    }
}

diesel::table! {
    oidc_logins (state) {
        #[max_length = 64]
        state -> Varchar,
        #[max_length = 64]
        nonce -> Varchar,
        #[max_length = 128]
        code_verifier -> Varchar,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    parser_plugins (id) {
        id -> Int8,
        #[max_length = 200]
        name -> Varchar,
        #[max_length = 100]
        version -> Varchar,
        #[max_length = 64]
        sha256 -> Bpchar,
        wasm -> Bytea,
        enabled -> Bool,
        uploaded_by_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    product_groups (id) {
        id -> Int8,
        group_id -> Int8,
        product_id -> Int8,
        role_id -> Int2,
    }
}

diesel::table! {
    product_members (id) {
        id -> Int8,
        user_id -> Int8,
        product_id -> Int8,
        role_id -> Int2,
    }
}

diesel::table! {
    product_type_groups (id) {
        id -> Int8,
        group_id -> Int8,
        product_type_id -> Int8,
        role_id -> Int2,
    }
}

diesel::table! {
    product_type_members (id) {
        id -> Int8,
        user_id -> Int8,
        product_type_id -> Int8,
        role_id -> Int2,
    }
}

diesel::table! {
    product_types (id) {
        id -> Int8,
        #[max_length = 255]
        name -> Varchar,
        #[max_length = 4000]
        description -> Varchar,
        critical_product -> Bool,
        key_product -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    products (id) {
        id -> Int8,
        #[max_length = 255]
        name -> Varchar,
        #[max_length = 4000]
        description -> Varchar,
        product_type_id -> Int8,
        sla_configuration_id -> Int8,
        product_manager_id -> Nullable<Int8>,
        technical_contact_id -> Nullable<Int8>,
        team_manager_id -> Nullable<Int8>,
        #[max_length = 9]
        business_criticality -> Nullable<Varchar>,
        #[max_length = 11]
        platform -> Nullable<Varchar>,
        #[max_length = 12]
        lifecycle -> Nullable<Varchar>,
        #[max_length = 19]
        origin -> Nullable<Varchar>,
        user_records -> Nullable<Int4>,
        revenue -> Nullable<Numeric>,
        external_audience -> Bool,
        internet_accessible -> Bool,
        tags -> Array<Text>,
        enable_product_tag_inheritance -> Bool,
        enable_simple_risk_acceptance -> Bool,
        enable_full_risk_acceptance -> Bool,
        disable_sla_breach_notifications -> Bool,
        prod_numeric_grade -> Nullable<Int4>,
        async_updating -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        custom_fields -> Jsonb,
    }
}

diesel::table! {
    risk_acceptance_findings (risk_acceptance_id, finding_id) {
        risk_acceptance_id -> Int8,
        finding_id -> Int8,
    }
}

diesel::table! {
    risk_acceptances (id) {
        id -> Int8,
        engagement_id -> Int8,
        product_id -> Int8,
        #[max_length = 300]
        name -> Varchar,
        #[max_length = 1]
        recommendation -> Bpchar,
        recommendation_details -> Nullable<Text>,
        #[max_length = 1]
        decision -> Bpchar,
        decision_details -> Nullable<Text>,
        #[max_length = 200]
        accepted_by -> Nullable<Varchar>,
        #[max_length = 1000]
        path -> Nullable<Varchar>,
        owner_id -> Int8,
        expiration_date -> Nullable<Timestamptz>,
        expiration_date_warned -> Nullable<Timestamptz>,
        expiration_date_handled -> Nullable<Timestamptz>,
        reactivate_expired -> Bool,
        restart_sla_expired -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    roles (id) {
        id -> Int2,
        #[max_length = 32]
        name -> Varchar,
        is_owner -> Bool,
    }
}

diesel::table! {
    sla_configurations (id) {
        id -> Int8,
        #[max_length = 128]
        name -> Varchar,
        #[max_length = 512]
        description -> Varchar,
        critical -> Int4,
        high -> Int4,
        medium -> Int4,
        low -> Int4,
        enforce_critical -> Bool,
        enforce_high -> Bool,
        enforce_medium -> Bool,
        enforce_low -> Bool,
        restart_sla_on_reactivation -> Bool,
        async_updating -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    system_settings (id) {
        id -> Int2,
        enable_deduplication -> Bool,
        delete_duplicates -> Bool,
        max_dupes -> Int4,
        false_positive_history -> Bool,
        retroactive_false_positive_history -> Bool,
        enforce_verified_status -> Bool,
        enable_finding_sla -> Bool,
        enable_jira -> Bool,
        #[max_length = 8]
        jira_minimum_severity -> Varchar,
        enable_product_tag_inheritance -> Bool,
        risk_acceptance_form_default_days -> Int4,
        risk_acceptance_notify_before_expiration -> Int4,
        enable_finding_groups -> Bool,
        track_import_history -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    test_import_action_sets (id) {
        id -> Int8,
        test_import_id -> Int8,
        #[max_length = 1]
        action -> Bpchar,
        finding_ids -> Array<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    test_imports (id) {
        id -> Int8,
        test_id -> Int8,
        #[max_length = 8]
        import_type -> Varchar,
        import_settings -> Jsonb,
        #[max_length = 100]
        version -> Nullable<Varchar>,
        #[max_length = 150]
        build_id -> Nullable<Varchar>,
        #[max_length = 150]
        commit_hash -> Nullable<Varchar>,
        #[max_length = 150]
        branch_tag -> Nullable<Varchar>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    test_types (id) {
        id -> Int8,
        #[max_length = 200]
        name -> Varchar,
        static_tool -> Bool,
        dynamic_tool -> Bool,
        active -> Bool,
        dynamically_generated -> Bool,
    }
}

diesel::table! {
    tests (id) {
        id -> Int8,
        engagement_id -> Int8,
        product_id -> Int8,
        test_type_id -> Int8,
        scan_type -> Nullable<Text>,
        #[max_length = 255]
        title -> Nullable<Varchar>,
        description -> Nullable<Text>,
        target_start -> Timestamptz,
        target_end -> Timestamptz,
        percent_complete -> Nullable<Int4>,
        lead_id -> Nullable<Int8>,
        environment_id -> Nullable<Int8>,
        #[max_length = 100]
        version -> Nullable<Varchar>,
        #[max_length = 150]
        build_id -> Nullable<Varchar>,
        #[max_length = 150]
        commit_hash -> Nullable<Varchar>,
        #[max_length = 150]
        branch_tag -> Nullable<Varchar>,
        tags -> Array<Text>,
        inherited_tags -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        #[max_length = 150]
        username -> Varchar,
        #[max_length = 254]
        email -> Varchar,
        #[max_length = 150]
        first_name -> Varchar,
        #[max_length = 150]
        last_name -> Varchar,
        is_active -> Bool,
        is_superuser -> Bool,
        is_staff -> Bool,
        password_hash -> Nullable<Text>,
        #[max_length = 255]
        oidc_subject -> Nullable<Varchar>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_login -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        webhook_id -> Int8,
        event_seq -> Int8,
        #[max_length = 10]
        status -> Varchar,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Int8,
        #[max_length = 200]
        name -> Varchar,
        #[max_length = 2000]
        url -> Varchar,
        #[max_length = 200]
        secret -> Varchar,
        product_type_id -> Nullable<Int8>,
        product_id -> Nullable<Int8>,
        kinds -> Array<Text>,
        active -> Bool,
        failing_since -> Nullable<Timestamptz>,
        created_by_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        next_attempt_at -> Nullable<Timestamptz>,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(custom_fields -> product_types (product_type_id));
diesel::joinable!(custom_fields -> users (creator_id));
diesel::joinable!(engagements -> products (product_id));
diesel::joinable!(engagements -> users (lead_id));
diesel::joinable!(files -> engagements (engagement_id));
diesel::joinable!(files -> findings (finding_id));
diesel::joinable!(files -> products (product_id));
diesel::joinable!(files -> risk_acceptances (risk_acceptance_id));
diesel::joinable!(files -> tests (test_id));
diesel::joinable!(files -> users (uploaded_by_id));
diesel::joinable!(finding_found_by -> test_types (test_type_id));
diesel::joinable!(finding_group_findings -> finding_groups (finding_group_id));
diesel::joinable!(finding_group_findings -> findings (finding_id));
diesel::joinable!(finding_groups -> products (product_id));
diesel::joinable!(finding_groups -> tests (test_id));
diesel::joinable!(finding_groups -> users (creator_id));
diesel::joinable!(finding_request_responses -> findings (finding_id));
diesel::joinable!(finding_reviewers -> findings (finding_id));
diesel::joinable!(finding_reviewers -> users (user_id));
diesel::joinable!(finding_templates -> users (creator_id));
diesel::joinable!(findings -> tests (test_id));
diesel::joinable!(global_roles -> groups (group_id));
diesel::joinable!(global_roles -> roles (role_id));
diesel::joinable!(global_roles -> users (user_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> roles (role_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(jira_issues -> engagements (engagement_id));
diesel::joinable!(jira_issues -> finding_groups (finding_group_id));
diesel::joinable!(jira_issues -> findings (finding_id));
diesel::joinable!(jira_issues -> jira_projects (jira_project_id));
diesel::joinable!(jira_projects -> engagements (engagement_id));
diesel::joinable!(jira_projects -> jira_instances (jira_instance_id));
diesel::joinable!(jira_projects -> products (product_id));
diesel::joinable!(jira_push_requests -> finding_groups (finding_group_id));
diesel::joinable!(jira_push_requests -> findings (finding_id));
diesel::joinable!(job_files -> jobs (job_id));
diesel::joinable!(jobs -> users (created_by_id));
diesel::joinable!(location_finding_refs -> locations (location_id));
diesel::joinable!(location_finding_refs -> users (auditor_id));
diesel::joinable!(location_product_refs -> locations (location_id));
diesel::joinable!(location_product_refs -> products (product_id));
diesel::joinable!(note_history -> note_types (note_type_id));
diesel::joinable!(note_history -> notes (note_id));
diesel::joinable!(note_history -> users (current_editor_id));
diesel::joinable!(notes -> engagements (engagement_id));
diesel::joinable!(notes -> findings (finding_id));
diesel::joinable!(notes -> note_types (note_type_id));
diesel::joinable!(notes -> products (product_id));
diesel::joinable!(notes -> tests (test_id));
diesel::joinable!(parser_plugins -> users (uploaded_by_id));
diesel::joinable!(product_groups -> groups (group_id));
diesel::joinable!(product_groups -> products (product_id));
diesel::joinable!(product_groups -> roles (role_id));
diesel::joinable!(product_members -> products (product_id));
diesel::joinable!(product_members -> roles (role_id));
diesel::joinable!(product_members -> users (user_id));
diesel::joinable!(product_type_groups -> groups (group_id));
diesel::joinable!(product_type_groups -> product_types (product_type_id));
diesel::joinable!(product_type_groups -> roles (role_id));
diesel::joinable!(product_type_members -> product_types (product_type_id));
diesel::joinable!(product_type_members -> roles (role_id));
diesel::joinable!(product_type_members -> users (user_id));
diesel::joinable!(products -> product_types (product_type_id));
diesel::joinable!(products -> sla_configurations (sla_configuration_id));
diesel::joinable!(risk_acceptance_findings -> findings (finding_id));
diesel::joinable!(risk_acceptance_findings -> risk_acceptances (risk_acceptance_id));
diesel::joinable!(risk_acceptances -> engagements (engagement_id));
diesel::joinable!(risk_acceptances -> products (product_id));
diesel::joinable!(risk_acceptances -> users (owner_id));
diesel::joinable!(test_import_action_sets -> test_imports (test_import_id));
diesel::joinable!(test_imports -> tests (test_id));
diesel::joinable!(tests -> development_environments (environment_id));
diesel::joinable!(tests -> engagements (engagement_id));
diesel::joinable!(tests -> products (product_id));
diesel::joinable!(tests -> test_types (test_type_id));
diesel::joinable!(tests -> users (lead_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhooks -> product_types (product_type_id));
diesel::joinable!(webhooks -> products (product_id));
diesel::joinable!(webhooks -> users (created_by_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_log,
    custom_fields,
    development_environments,
    engagements,
    event_log,
    events,
    files,
    finding_cwes,
    finding_found_by,
    finding_group_findings,
    finding_groups,
    finding_request_responses,
    finding_reviewers,
    finding_templates,
    finding_vulnerability_ids,
    findings,
    global_roles,
    group_members,
    groups,
    jira_instances,
    jira_issues,
    jira_projects,
    jira_push_requests,
    job_files,
    jobs,
    location_finding_refs,
    location_product_refs,
    locations,
    note_history,
    note_types,
    notes,
    oidc_logins,
    parser_plugins,
    product_groups,
    product_members,
    product_type_groups,
    product_type_members,
    product_types,
    products,
    risk_acceptance_findings,
    risk_acceptances,
    roles,
    sla_configurations,
    system_settings,
    test_import_action_sets,
    test_imports,
    test_types,
    tests,
    users,
    webhook_deliveries,
    webhooks,
);
