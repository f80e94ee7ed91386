-- Finding templates: reusable write-ups (title, CWE, severity, texts) that
-- a person applies to a finding instead of typing them again.
CREATE TABLE finding_templates (
    id BIGSERIAL PRIMARY KEY,
    title VARCHAR(1000) NOT NULL UNIQUE,
    cwe INTEGER,
    severity VARCHAR(200) CHECK (severity IN ('Critical', 'High', 'Medium', 'Low', 'Info')),
    description TEXT,
    mitigation TEXT,
    impact TEXT,
    "references" TEXT,
    vulnerability_ids TEXT[] NOT NULL DEFAULT '{}',
    tags TEXT[] NOT NULL DEFAULT '{}',
    creator_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    last_used TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('finding_templates');
