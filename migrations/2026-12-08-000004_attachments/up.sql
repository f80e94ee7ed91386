-- Files attached to findings, tests and engagements, kept in the database
-- (one backup holds everything). Each file belongs to exactly one object;
-- `product_id` is the access rule's key, so a download checks one row.
CREATE TABLE files (
    id BIGSERIAL PRIMARY KEY,
    finding_id BIGINT REFERENCES findings(id) ON DELETE CASCADE,
    test_id BIGINT REFERENCES tests(id) ON DELETE CASCADE,
    engagement_id BIGINT REFERENCES engagements(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    content_type VARCHAR(200) NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    sha256 CHAR(64) NOT NULL,
    content BYTEA NOT NULL,
    uploaded_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(finding_id, test_id, engagement_id) = 1)
);
CREATE INDEX files_finding_idx ON files (finding_id) WHERE finding_id IS NOT NULL;
CREATE INDEX files_test_idx ON files (test_id) WHERE test_id IS NOT NULL;
CREATE INDEX files_engagement_idx ON files (engagement_id) WHERE engagement_id IS NOT NULL;
-- Screenshots and archives are compressed already: store them as they are.
ALTER TABLE files ALTER COLUMN content SET STORAGE EXTERNAL;

-- Attaching and removing a file is in the history of its object.
CREATE FUNCTION audit_file() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f files;
BEGIN
    IF TG_OP = 'DELETE' THEN
        f := OLD;
    ELSE
        f := NEW;
    END IF;
    INSERT INTO audit_log (actor_id, object_kind, object_id, product_id, action, changes)
    VALUES (audit_actor(),
            CASE WHEN f.finding_id IS NOT NULL THEN 'Finding'
                 WHEN f.test_id IS NOT NULL THEN 'Test' ELSE 'Engagement' END,
            COALESCE(f.finding_id, f.test_id, f.engagement_id), f.product_id,
            CASE TG_OP WHEN 'INSERT' THEN 'file_added' ELSE 'file_removed' END,
            jsonb_build_object('file', jsonb_build_object('id', f.id, 'name', f.name,
                'size', f.size, 'sha256', f.sha256)));
    RETURN NULL;
END $$;
CREATE TRIGGER audit_files AFTER INSERT OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION audit_file();
