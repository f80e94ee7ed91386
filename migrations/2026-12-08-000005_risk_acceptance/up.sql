-- Risk acceptances as decisions with a history: a finding is in at most one
-- acceptance, every change of an acceptance is in its audit trail, and the
-- proof of the decision is a file attached to it.
DROP INDEX risk_acceptance_findings_finding_idx;
CREATE UNIQUE INDEX risk_acceptance_findings_finding_idx ON risk_acceptance_findings (finding_id);

CREATE TRIGGER audit_risk_acceptances AFTER INSERT OR UPDATE OR DELETE ON risk_acceptances
    FOR EACH ROW EXECUTE FUNCTION audit_object('RiskAcceptance');

ALTER TABLE files ADD COLUMN risk_acceptance_id BIGINT REFERENCES risk_acceptances(id) ON DELETE CASCADE;
ALTER TABLE files DROP CONSTRAINT files_check;
ALTER TABLE files ADD CONSTRAINT files_one_parent
    CHECK (num_nonnulls(finding_id, test_id, engagement_id, risk_acceptance_id) = 1);
CREATE INDEX files_risk_acceptance_idx ON files (risk_acceptance_id) WHERE risk_acceptance_id IS NOT NULL;

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
                 WHEN f.test_id IS NOT NULL THEN 'Test'
                 WHEN f.engagement_id IS NOT NULL THEN 'Engagement'
                 ELSE 'RiskAcceptance' END,
            COALESCE(f.finding_id, f.test_id, f.engagement_id, f.risk_acceptance_id), f.product_id,
            CASE TG_OP WHEN 'INSERT' THEN 'file_added' ELSE 'file_removed' END,
            jsonb_build_object('file', jsonb_build_object('id', f.id, 'name', f.name,
                'size', f.size, 'sha256', f.sha256)));
    RETURN NULL;
END $$;
