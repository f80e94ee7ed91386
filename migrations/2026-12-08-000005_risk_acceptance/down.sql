CREATE OR REPLACE FUNCTION audit_file() RETURNS trigger LANGUAGE plpgsql AS $$
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
DELETE FROM files WHERE risk_acceptance_id IS NOT NULL;
DROP INDEX files_risk_acceptance_idx;
ALTER TABLE files DROP CONSTRAINT files_one_parent;
ALTER TABLE files DROP COLUMN risk_acceptance_id;
ALTER TABLE files ADD CONSTRAINT files_check
    CHECK (num_nonnulls(finding_id, test_id, engagement_id) = 1);
DROP TRIGGER audit_risk_acceptances ON risk_acceptances;
DROP INDEX risk_acceptance_findings_finding_idx;
CREATE INDEX risk_acceptance_findings_finding_idx ON risk_acceptance_findings (finding_id);
