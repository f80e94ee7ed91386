-- Palisade's data model: users and access, the product hierarchy, findings
-- with their locations, notes, import history, SLA, risk acceptance, finding
-- groups, Jira links, the event outbox, the job queue and uploaded plugins.
-- Field names follow DefectDojo's so that its users and clients carry over.

-- ---------------------------------------------------------------- access
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username VARCHAR(150) NOT NULL UNIQUE,
    email VARCHAR(254) NOT NULL DEFAULT '',
    first_name VARCHAR(150) NOT NULL DEFAULT '',
    last_name VARCHAR(150) NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    -- argon2id PHC string; NULL for users who only sign in through OIDC.
    password_hash TEXT,
    oidc_subject VARCHAR(255) UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login TIMESTAMPTZ
);
SELECT diesel_manage_updated_at('users');

-- API tokens and session tokens: only a SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name VARCHAR(200) NOT NULL DEFAULT '',
    kind VARCHAR(10) NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'session')),
    prefix VARCHAR(16) NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE roles (
    id SMALLINT PRIMARY KEY,
    name VARCHAR(32) NOT NULL UNIQUE,
    is_owner BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO roles (id, name, is_owner) VALUES
    (1, 'API_Importer', FALSE), (2, 'Writer', FALSE), (3, 'Maintainer', FALSE),
    (4, 'Owner', TRUE), (5, 'Reader', FALSE);

CREATE TABLE groups (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    description VARCHAR(4000) NOT NULL DEFAULT '',
    social_provider VARCHAR(10),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE group_members (
    id BIGSERIAL PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id SMALLINT NOT NULL REFERENCES roles(id),
    UNIQUE (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

CREATE TABLE global_roles (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    group_id BIGINT UNIQUE REFERENCES groups(id) ON DELETE CASCADE,
    role_id SMALLINT NOT NULL REFERENCES roles(id),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);

-- ---------------------------------------------------------------- SLA
CREATE TABLE sla_configurations (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(128) NOT NULL UNIQUE,
    description VARCHAR(512) NOT NULL DEFAULT '',
    critical INTEGER NOT NULL DEFAULT 7 CHECK (critical >= 1),
    high INTEGER NOT NULL DEFAULT 30 CHECK (high >= 1),
    medium INTEGER NOT NULL DEFAULT 90 CHECK (medium >= 1),
    low INTEGER NOT NULL DEFAULT 120 CHECK (low >= 1),
    enforce_critical BOOLEAN NOT NULL DEFAULT TRUE,
    enforce_high BOOLEAN NOT NULL DEFAULT TRUE,
    enforce_medium BOOLEAN NOT NULL DEFAULT TRUE,
    enforce_low BOOLEAN NOT NULL DEFAULT TRUE,
    restart_sla_on_reactivation BOOLEAN NOT NULL DEFAULT FALSE,
    async_updating BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('sla_configurations');
INSERT INTO sla_configurations (id, name, description)
    VALUES (1, 'Default', 'The SLA configuration every new product starts with.');
SELECT setval('sla_configurations_id_seq', 1);

-- ---------------------------------------------------------------- hierarchy
CREATE TABLE product_types (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    description VARCHAR(4000) NOT NULL DEFAULT '',
    critical_product BOOLEAN NOT NULL DEFAULT FALSE,
    key_product BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('product_types');

CREATE TABLE products (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    description VARCHAR(4000) NOT NULL,
    product_type_id BIGINT NOT NULL REFERENCES product_types(id) ON DELETE CASCADE,
    sla_configuration_id BIGINT NOT NULL DEFAULT 1 REFERENCES sla_configurations(id) ON DELETE RESTRICT,
    product_manager_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    technical_contact_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    team_manager_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    business_criticality VARCHAR(9) CHECK (business_criticality IN ('very high', 'high', 'medium', 'low', 'very low', 'none')),
    platform VARCHAR(11) CHECK (platform IN ('web service', 'desktop', 'iot', 'mobile', 'web')),
    lifecycle VARCHAR(12) CHECK (lifecycle IN ('construction', 'production', 'retirement')),
    origin VARCHAR(19) CHECK (origin IN ('third party library', 'purchased', 'contractor', 'internal', 'open source', 'outsourced')),
    user_records INTEGER,
    revenue NUMERIC(15, 2) CHECK (revenue >= 0),
    external_audience BOOLEAN NOT NULL DEFAULT FALSE,
    internet_accessible BOOLEAN NOT NULL DEFAULT FALSE,
    tags TEXT[] NOT NULL DEFAULT '{}',
    enable_product_tag_inheritance BOOLEAN NOT NULL DEFAULT FALSE,
    enable_simple_risk_acceptance BOOLEAN NOT NULL DEFAULT FALSE,
    enable_full_risk_acceptance BOOLEAN NOT NULL DEFAULT TRUE,
    disable_sla_breach_notifications BOOLEAN NOT NULL DEFAULT FALSE,
    prod_numeric_grade INTEGER,
    async_updating BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('products');
CREATE INDEX products_product_type_idx ON products (product_type_id, id);
CREATE INDEX products_tags_idx ON products USING GIN (tags);

CREATE TABLE product_type_members (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    product_type_id BIGINT NOT NULL REFERENCES product_types(id) ON DELETE CASCADE,
    role_id SMALLINT NOT NULL REFERENCES roles(id),
    UNIQUE (user_id, product_type_id)
);
CREATE INDEX product_type_members_pt_idx ON product_type_members (product_type_id);

CREATE TABLE product_members (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    role_id SMALLINT NOT NULL REFERENCES roles(id),
    UNIQUE (user_id, product_id)
);
CREATE INDEX product_members_product_idx ON product_members (product_id);

CREATE TABLE product_type_groups (
    id BIGSERIAL PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    product_type_id BIGINT NOT NULL REFERENCES product_types(id) ON DELETE CASCADE,
    role_id SMALLINT NOT NULL REFERENCES roles(id),
    UNIQUE (group_id, product_type_id)
);

CREATE TABLE product_groups (
    id BIGSERIAL PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    role_id SMALLINT NOT NULL REFERENCES roles(id),
    UNIQUE (group_id, product_id)
);

CREATE TABLE engagements (
    id BIGSERIAL PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    name VARCHAR(300),
    description VARCHAR(2000),
    version VARCHAR(100),
    first_contacted DATE,
    target_start DATE NOT NULL,
    target_end DATE NOT NULL,
    lead_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    status VARCHAR(30) NOT NULL DEFAULT 'Not Started' CHECK (status IN ('Not Started', 'Blocked', 'Cancelled', 'Completed', 'In Progress', 'On Hold', 'Scheduled', 'Waiting for Resource')),
    engagement_type VARCHAR(30) NOT NULL DEFAULT 'Interactive' CHECK (engagement_type IN ('Interactive', 'CI/CD')),
    build_id VARCHAR(150),
    commit_hash VARCHAR(150),
    branch_tag VARCHAR(150),
    source_code_management_uri VARCHAR(600),
    deduplication_on_engagement BOOLEAN NOT NULL DEFAULT FALSE,
    tracker VARCHAR(200),
    test_strategy VARCHAR(200),
    reason VARCHAR(2000),
    threat_model BOOLEAN NOT NULL DEFAULT TRUE,
    api_test BOOLEAN NOT NULL DEFAULT TRUE,
    pen_test BOOLEAN NOT NULL DEFAULT TRUE,
    check_list BOOLEAN NOT NULL DEFAULT TRUE,
    tags TEXT[] NOT NULL DEFAULT '{}',
    inherited_tags TEXT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('engagements');
CREATE INDEX engagements_product_idx ON engagements (product_id, id);
CREATE INDEX engagements_product_name_idx ON engagements (product_id, name);

CREATE TABLE test_types (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(200) NOT NULL UNIQUE,
    static_tool BOOLEAN NOT NULL DEFAULT FALSE,
    dynamic_tool BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    dynamically_generated BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE development_environments (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(200) NOT NULL UNIQUE
);
INSERT INTO development_environments (name) VALUES
    ('Development'), ('Default'), ('Pre-prod'), ('Production'), ('Staging'), ('Test');

CREATE TABLE tests (
    id BIGSERIAL PRIMARY KEY,
    engagement_id BIGINT NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    -- Denormalised from the engagement (tests never move) for filtering by product.
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    test_type_id BIGINT NOT NULL REFERENCES test_types(id) ON DELETE RESTRICT,
    scan_type TEXT,
    title VARCHAR(255),
    description TEXT,
    target_start TIMESTAMPTZ NOT NULL,
    target_end TIMESTAMPTZ NOT NULL,
    percent_complete INTEGER,
    lead_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    environment_id BIGINT REFERENCES development_environments(id) ON DELETE SET NULL,
    version VARCHAR(100),
    build_id VARCHAR(150),
    commit_hash VARCHAR(150),
    branch_tag VARCHAR(150),
    tags TEXT[] NOT NULL DEFAULT '{}',
    inherited_tags TEXT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('tests');
CREATE INDEX tests_engagement_idx ON tests (engagement_id, id);
CREATE INDEX tests_product_idx ON tests (product_id, id);

-- ---------------------------------------------------------------- findings
CREATE TABLE findings (
    id BIGSERIAL PRIMARY KEY,
    test_id BIGINT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    -- Denormalised parents (findings never move): dedupe scope, filters and
    -- access control are single-index lookups instead of joins.
    engagement_id BIGINT NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    title VARCHAR(511) NOT NULL,
    date DATE NOT NULL DEFAULT CURRENT_DATE,
    severity VARCHAR(8) NOT NULL CHECK (severity IN ('Critical', 'High', 'Medium', 'Low', 'Info')),
    numerical_severity VARCHAR(4) NOT NULL,
    description TEXT NOT NULL,
    mitigation TEXT,
    impact TEXT,
    steps_to_reproduce TEXT,
    severity_justification TEXT,
    "references" TEXT,
    url TEXT,
    param TEXT,
    payload TEXT,
    cwe INTEGER NOT NULL DEFAULT 0,
    cve VARCHAR(50),
    vuln_id_from_tool VARCHAR(500),
    unique_id_from_tool VARCHAR(500),
    cvssv3 VARCHAR(117),
    cvssv3_score REAL CHECK (cvssv3_score BETWEEN 0 AND 10),
    cvssv4 VARCHAR(255),
    cvssv4_score REAL CHECK (cvssv4_score BETWEEN 0 AND 10),
    epss_score REAL CHECK (epss_score BETWEEN 0 AND 1),
    epss_percentile REAL CHECK (epss_percentile BETWEEN 0 AND 1),
    known_exploited BOOLEAN NOT NULL DEFAULT FALSE,
    ransomware_used BOOLEAN NOT NULL DEFAULT FALSE,
    kev_date DATE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    false_p BOOLEAN NOT NULL DEFAULT FALSE,
    duplicate BOOLEAN NOT NULL DEFAULT FALSE,
    duplicate_finding_id BIGINT REFERENCES findings(id) ON DELETE SET NULL,
    out_of_scope BOOLEAN NOT NULL DEFAULT FALSE,
    risk_accepted BOOLEAN NOT NULL DEFAULT FALSE,
    under_review BOOLEAN NOT NULL DEFAULT FALSE,
    review_requested_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    under_defect_review BOOLEAN NOT NULL DEFAULT FALSE,
    is_mitigated BOOLEAN NOT NULL DEFAULT FALSE,
    mitigated TIMESTAMPTZ,
    mitigated_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    last_status_update TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_reviewed TIMESTAMPTZ,
    last_reviewed_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    sla_start_date DATE,
    sla_expiration_date DATE,
    file_path VARCHAR(4000),
    line INTEGER,
    component_name VARCHAR(500),
    component_version VARCHAR(100),
    sast_source_object VARCHAR(500),
    sast_sink_object VARCHAR(500),
    sast_source_line INTEGER,
    sast_source_file_path VARCHAR(4000),
    reporter_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    static_finding BOOLEAN NOT NULL DEFAULT FALSE,
    dynamic_finding BOOLEAN NOT NULL DEFAULT TRUE,
    scanner_confidence INTEGER,
    nb_occurences INTEGER,
    publish_date DATE,
    fix_available BOOLEAN,
    fix_version VARCHAR(100),
    planned_remediation_date DATE,
    planned_remediation_version VARCHAR(99),
    effort_for_fixing VARCHAR(99),
    hash_code VARCHAR(64),
    service VARCHAR(200),
    tags TEXT[] NOT NULL DEFAULT '{}',
    inherited_tags TEXT[] NOT NULL DEFAULT '{}',
    -- Scanner-specific key/values the parser kept.
    extra JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (NOT (duplicate AND (active OR verified))),
    CHECK (NOT (false_p AND verified))
);
SELECT diesel_manage_updated_at('findings');
-- Dedupe lookups: hash and tool id within a product and within an engagement.
CREATE INDEX findings_product_hash_idx ON findings (product_id, hash_code, id) WHERE hash_code IS NOT NULL;
CREATE INDEX findings_engagement_hash_idx ON findings (engagement_id, hash_code, id) WHERE hash_code IS NOT NULL;
CREATE INDEX findings_product_uid_idx ON findings (product_id, unique_id_from_tool, id) WHERE unique_id_from_tool IS NOT NULL;
CREATE INDEX findings_engagement_uid_idx ON findings (engagement_id, unique_id_from_tool, id) WHERE unique_id_from_tool IS NOT NULL;
-- Lists: by test, by product, by severity (keyset on id).
CREATE INDEX findings_test_idx ON findings (test_id, id);
CREATE INDEX findings_product_idx ON findings (product_id, id);
CREATE INDEX findings_product_severity_idx ON findings (product_id, numerical_severity, id);
CREATE INDEX findings_severity_idx ON findings (numerical_severity, id);
CREATE INDEX findings_product_active_severity_idx ON findings (product_id, active, numerical_severity, id);
CREATE INDEX findings_engagement_idx ON findings (engagement_id, id);
CREATE INDEX findings_date_idx ON findings (date, id);
CREATE INDEX findings_sla_idx ON findings (sla_expiration_date, id) WHERE sla_expiration_date IS NOT NULL;
CREATE INDEX findings_duplicate_of_idx ON findings (duplicate_finding_id) WHERE duplicate_finding_id IS NOT NULL;
CREATE INDEX findings_cwe_idx ON findings (cwe) WHERE cwe <> 0;
CREATE INDEX findings_component_idx ON findings (component_name, component_version) WHERE component_name IS NOT NULL;
CREATE INDEX findings_tags_idx ON findings USING GIN (tags);

CREATE TABLE finding_vulnerability_ids (
    id BIGSERIAL PRIMARY KEY,
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    position SMALLINT NOT NULL DEFAULT 0,
    vulnerability_id VARCHAR(50) NOT NULL,
    UNIQUE (finding_id, vulnerability_id)
);
CREATE INDEX finding_vulnerability_ids_value_idx ON finding_vulnerability_ids (vulnerability_id);

-- Further CWEs beyond findings.cwe ("CWE-79" labels).
CREATE TABLE finding_cwes (
    id BIGSERIAL PRIMARY KEY,
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    cwe VARCHAR(11) NOT NULL,
    UNIQUE (finding_id, cwe)
);

CREATE TABLE finding_found_by (
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    test_type_id BIGINT NOT NULL REFERENCES test_types(id) ON DELETE CASCADE,
    PRIMARY KEY (finding_id, test_type_id)
);

CREATE TABLE finding_reviewers (
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (finding_id, user_id)
);

-- Request/response pairs attached to dynamic findings (base64 as the scanner gave them).
CREATE TABLE finding_request_responses (
    id BIGSERIAL PRIMARY KEY,
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    burp_request_base64 TEXT NOT NULL,
    burp_response_base64 TEXT NOT NULL
);
CREATE INDEX finding_request_responses_finding_idx ON finding_request_responses (finding_id);

-- ---------------------------------------------------------------- locations (URL model)
CREATE TABLE locations (
    id BIGSERIAL PRIMARY KEY,
    location_type VARCHAR(12) NOT NULL DEFAULT 'url' CHECK (location_type IN ('url')),
    location_value VARCHAR(2048) NOT NULL,
    -- BLAKE2b-256 of the canonical string, hex.
    identity_hash CHAR(64) NOT NULL UNIQUE,
    protocol VARCHAR(10) NOT NULL DEFAULT '',
    user_info VARCHAR(512) NOT NULL DEFAULT '',
    host VARCHAR(256) NOT NULL,
    port INTEGER CHECK (port BETWEEN 1 AND 65535),
    path VARCHAR(2048) NOT NULL DEFAULT '',
    query VARCHAR(2048) NOT NULL DEFAULT '',
    fragment VARCHAR(2048) NOT NULL DEFAULT '',
    host_validation_failure BOOLEAN NOT NULL DEFAULT FALSE,
    tags TEXT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX locations_host_idx ON locations (host);

CREATE TABLE location_finding_refs (
    id BIGSERIAL PRIMARY KEY,
    location_id BIGINT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    status VARCHAR(13) NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Mitigated', 'FalsePositive', 'RiskAccepted', 'OutOfScope')),
    auditor_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    audit_time TIMESTAMPTZ,
    relationship VARCHAR(8) NOT NULL DEFAULT '' CHECK (relationship IN ('owned_by', 'used_by', '')),
    relationship_data JSONB NOT NULL DEFAULT '{}',
    UNIQUE (finding_id, location_id)
);
CREATE INDEX location_finding_refs_location_idx ON location_finding_refs (location_id);

CREATE TABLE location_product_refs (
    id BIGSERIAL PRIMARY KEY,
    location_id BIGINT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    status VARCHAR(9) NOT NULL DEFAULT 'Mitigated' CHECK (status IN ('Active', 'Mitigated')),
    UNIQUE (product_id, location_id)
);
CREATE INDEX location_product_refs_location_idx ON location_product_refs (location_id);

-- ---------------------------------------------------------------- notes
CREATE TABLE note_types (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(100) NOT NULL UNIQUE,
    description VARCHAR(200) NOT NULL DEFAULT '',
    is_single BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_mandatory BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE notes (
    id BIGSERIAL PRIMARY KEY,
    entry TEXT NOT NULL,
    date TIMESTAMPTZ NOT NULL DEFAULT now(),
    author_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    private BOOLEAN NOT NULL DEFAULT FALSE,
    edited BOOLEAN NOT NULL DEFAULT FALSE,
    editor_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    edit_time TIMESTAMPTZ,
    note_type_id BIGINT REFERENCES note_types(id) ON DELETE SET NULL,
    -- Exactly one parent; the product is denormalised for access checks.
    finding_id BIGINT REFERENCES findings(id) ON DELETE CASCADE,
    test_id BIGINT REFERENCES tests(id) ON DELETE CASCADE,
    engagement_id BIGINT REFERENCES engagements(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    CHECK (num_nonnulls(finding_id, test_id, engagement_id) = 1)
);
CREATE INDEX notes_finding_idx ON notes (finding_id, id) WHERE finding_id IS NOT NULL;
CREATE INDEX notes_test_idx ON notes (test_id, id) WHERE test_id IS NOT NULL;
CREATE INDEX notes_engagement_idx ON notes (engagement_id, id) WHERE engagement_id IS NOT NULL;

CREATE TABLE note_history (
    id BIGSERIAL PRIMARY KEY,
    note_id BIGINT NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    time TIMESTAMPTZ NOT NULL DEFAULT now(),
    current_editor_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    note_type_id BIGINT REFERENCES note_types(id) ON DELETE SET NULL
);
CREATE INDEX note_history_note_idx ON note_history (note_id);

-- ---------------------------------------------------------------- import history
CREATE TABLE test_imports (
    id BIGSERIAL PRIMARY KEY,
    test_id BIGINT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    import_type VARCHAR(8) NOT NULL CHECK (import_type IN ('import', 'reimport')),
    import_settings JSONB NOT NULL DEFAULT '{}',
    version VARCHAR(100),
    build_id VARCHAR(150),
    commit_hash VARCHAR(150),
    branch_tag VARCHAR(150),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('test_imports');
CREATE INDEX test_imports_test_idx ON test_imports (test_id, id);

CREATE TABLE test_import_finding_actions (
    test_import_id BIGINT NOT NULL REFERENCES test_imports(id) ON DELETE CASCADE,
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    action CHAR(1) NOT NULL CHECK (action IN ('N', 'C', 'R', 'U')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (test_import_id, finding_id)
);
CREATE INDEX test_import_finding_actions_finding_idx ON test_import_finding_actions (finding_id);

-- ---------------------------------------------------------------- risk acceptance
CREATE TABLE risk_acceptances (
    id BIGSERIAL PRIMARY KEY,
    engagement_id BIGINT NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    name VARCHAR(300) NOT NULL,
    recommendation CHAR(1) NOT NULL DEFAULT 'F' CHECK (recommendation IN ('A', 'V', 'M', 'F', 'T')),
    recommendation_details TEXT,
    decision CHAR(1) NOT NULL DEFAULT 'A' CHECK (decision IN ('A', 'V', 'M', 'F', 'T')),
    decision_details TEXT,
    accepted_by VARCHAR(200),
    path VARCHAR(1000),
    owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    expiration_date TIMESTAMPTZ,
    expiration_date_warned TIMESTAMPTZ,
    expiration_date_handled TIMESTAMPTZ,
    reactivate_expired BOOLEAN NOT NULL DEFAULT TRUE,
    restart_sla_expired BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('risk_acceptances');
CREATE INDEX risk_acceptances_engagement_idx ON risk_acceptances (engagement_id);
CREATE INDEX risk_acceptances_expiration_idx ON risk_acceptances (expiration_date) WHERE expiration_date_handled IS NULL;

CREATE TABLE risk_acceptance_findings (
    risk_acceptance_id BIGINT NOT NULL REFERENCES risk_acceptances(id) ON DELETE CASCADE,
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    PRIMARY KEY (risk_acceptance_id, finding_id)
);
CREATE INDEX risk_acceptance_findings_finding_idx ON risk_acceptance_findings (finding_id);

-- ---------------------------------------------------------------- finding groups
CREATE TABLE finding_groups (
    id BIGSERIAL PRIMARY KEY,
    test_id BIGINT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    creator_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (test_id, name)
);
SELECT diesel_manage_updated_at('finding_groups');

-- A finding belongs to at most one group.
CREATE TABLE finding_group_findings (
    finding_group_id BIGINT NOT NULL REFERENCES finding_groups(id) ON DELETE CASCADE,
    finding_id BIGINT NOT NULL UNIQUE REFERENCES findings(id) ON DELETE CASCADE,
    PRIMARY KEY (finding_group_id, finding_id)
);

-- ---------------------------------------------------------------- Jira
CREATE TABLE jira_instances (
    id BIGSERIAL PRIMARY KEY,
    configuration_name VARCHAR(2000) NOT NULL DEFAULT '',
    url VARCHAR(2000) NOT NULL,
    username VARCHAR(2000) NOT NULL,
    -- The API token; readable only by superusers, never logged.
    password TEXT NOT NULL,
    default_issue_type VARCHAR(15) NOT NULL DEFAULT 'Bug' CHECK (default_issue_type IN ('Task', 'Story', 'Epic', 'Spike', 'Bug', 'Security')),
    issue_template_dir VARCHAR(255),
    epic_name_id INTEGER,
    open_status_key INTEGER,
    close_status_key INTEGER,
    info_mapping_severity VARCHAR(200) NOT NULL DEFAULT 'Lowest',
    low_mapping_severity VARCHAR(200) NOT NULL DEFAULT 'Low',
    medium_mapping_severity VARCHAR(200) NOT NULL DEFAULT 'Medium',
    high_mapping_severity VARCHAR(200) NOT NULL DEFAULT 'High',
    critical_mapping_severity VARCHAR(200) NOT NULL DEFAULT 'Highest',
    finding_text TEXT,
    accepted_mapping_resolution VARCHAR(300),
    false_positive_mapping_resolution VARCHAR(300),
    global_jira_sla_notification BOOLEAN NOT NULL DEFAULT TRUE,
    finding_jira_sync BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE jira_projects (
    id BIGSERIAL PRIMARY KEY,
    jira_instance_id BIGINT REFERENCES jira_instances(id) ON DELETE SET NULL,
    product_id BIGINT REFERENCES products(id) ON DELETE CASCADE,
    engagement_id BIGINT REFERENCES engagements(id) ON DELETE CASCADE,
    project_key VARCHAR(200) NOT NULL DEFAULT '',
    component VARCHAR(200) NOT NULL DEFAULT '',
    custom_fields JSONB,
    close_transition_fields JSONB,
    reopen_transition_fields JSONB,
    default_assignee VARCHAR(200),
    jira_labels VARCHAR(200),
    add_vulnerability_id_to_jira_label BOOLEAN NOT NULL DEFAULT FALSE,
    push_all_issues BOOLEAN NOT NULL DEFAULT FALSE,
    enable_engagement_epic_mapping BOOLEAN NOT NULL DEFAULT FALSE,
    epic_issue_type_name VARCHAR(64) NOT NULL DEFAULT 'Epic',
    push_notes BOOLEAN NOT NULL DEFAULT FALSE,
    product_jira_sla_notification BOOLEAN NOT NULL DEFAULT FALSE,
    risk_acceptance_expiration_notification BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    CHECK (num_nonnulls(product_id, engagement_id) = 1)
);
CREATE UNIQUE INDEX jira_projects_product_idx ON jira_projects (product_id) WHERE product_id IS NOT NULL;
CREATE UNIQUE INDEX jira_projects_engagement_idx ON jira_projects (engagement_id) WHERE engagement_id IS NOT NULL;

CREATE TABLE jira_issues (
    id BIGSERIAL PRIMARY KEY,
    jira_project_id BIGINT REFERENCES jira_projects(id) ON DELETE SET NULL,
    jira_id VARCHAR(200) NOT NULL,
    jira_key VARCHAR(200) NOT NULL,
    finding_id BIGINT UNIQUE REFERENCES findings(id) ON DELETE CASCADE,
    finding_group_id BIGINT UNIQUE REFERENCES finding_groups(id) ON DELETE CASCADE,
    engagement_id BIGINT UNIQUE REFERENCES engagements(id) ON DELETE CASCADE,
    jira_creation TIMESTAMPTZ,
    jira_change TIMESTAMPTZ,
    CHECK (num_nonnulls(finding_id, finding_group_id, engagement_id) = 1)
);
CREATE INDEX jira_issues_jira_id_idx ON jira_issues (jira_id);

-- Import requests asked for a Jira push; the integration works this list.
CREATE TABLE jira_push_requests (
    id BIGSERIAL PRIMARY KEY,
    finding_id BIGINT REFERENCES findings(id) ON DELETE CASCADE,
    finding_group_id BIGINT REFERENCES finding_groups(id) ON DELETE CASCADE,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(finding_id, finding_group_id) = 1)
);

-- ---------------------------------------------------------------- system settings
CREATE TABLE system_settings (
    id SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    enable_deduplication BOOLEAN NOT NULL DEFAULT TRUE,
    delete_duplicates BOOLEAN NOT NULL DEFAULT FALSE,
    max_dupes INTEGER NOT NULL DEFAULT 10,
    false_positive_history BOOLEAN NOT NULL DEFAULT FALSE,
    retroactive_false_positive_history BOOLEAN NOT NULL DEFAULT FALSE,
    enforce_verified_status BOOLEAN NOT NULL DEFAULT TRUE,
    enable_finding_sla BOOLEAN NOT NULL DEFAULT TRUE,
    enable_jira BOOLEAN NOT NULL DEFAULT FALSE,
    jira_minimum_severity VARCHAR(8) NOT NULL DEFAULT 'Low',
    enable_product_tag_inheritance BOOLEAN NOT NULL DEFAULT FALSE,
    risk_acceptance_form_default_days INTEGER NOT NULL DEFAULT 180,
    risk_acceptance_notify_before_expiration INTEGER NOT NULL DEFAULT 10,
    enable_finding_groups BOOLEAN NOT NULL DEFAULT TRUE,
    track_import_history BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO system_settings (id) VALUES (1);

-- ---------------------------------------------------------------- events outbox
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    kind VARCHAR(40) NOT NULL,
    finding_id BIGINT,
    product_id BIGINT,
    product_type_id BIGINT,
    engagement_id BIGINT,
    test_id BIGINT,
    actor_id BIGINT,
    changes JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX events_created_idx ON events (created_at);

-- ---------------------------------------------------------------- jobs
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind VARCHAR(40) NOT NULL,
    payload JSONB NOT NULL DEFAULT '{}',
    status VARCHAR(10) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_by VARCHAR(100),
    locked_at TIMESTAMPTZ,
    progress_done BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT,
    last_error TEXT,
    result JSONB,
    created_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);
CREATE INDEX jobs_ready_idx ON jobs (run_at, id) WHERE status = 'queued';

-- ---------------------------------------------------------------- uploaded plugins
CREATE TABLE parser_plugins (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    version VARCHAR(100) NOT NULL,
    sha256 CHAR(64) NOT NULL UNIQUE,
    wasm BYTEA NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    uploaded_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('parser_plugins');
