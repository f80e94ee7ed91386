CREATE INDEX findings_severity_idx ON findings (numerical_severity, id);
CREATE INDEX findings_product_severity_idx ON findings (product_id, numerical_severity, id);
DROP TRIGGER users_deleted ON users;
DROP FUNCTION users_deleted();
DROP INDEX findings_product_hash_idx, findings_product_uid_idx;
CREATE INDEX findings_product_hash_idx ON findings (product_id, hash_code, id) WHERE hash_code IS NOT NULL;
CREATE INDEX findings_engagement_hash_idx ON findings (engagement_id, hash_code, id) WHERE hash_code IS NOT NULL;
CREATE INDEX findings_product_uid_idx ON findings (product_id, unique_id_from_tool, id) WHERE unique_id_from_tool IS NOT NULL;
CREATE INDEX findings_engagement_uid_idx ON findings (engagement_id, unique_id_from_tool, id) WHERE unique_id_from_tool IS NOT NULL;

DROP TRIGGER findings_deleted ON findings;
DROP FUNCTION findings_deleted();

DROP VIEW test_import_finding_actions;
CREATE TABLE test_import_finding_actions (
    test_import_id BIGINT NOT NULL REFERENCES test_imports(id) ON DELETE CASCADE,
    finding_id BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    action CHAR(1) NOT NULL CHECK (action IN ('N', 'C', 'R', 'U')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (test_import_id, finding_id)
);
CREATE INDEX test_import_finding_actions_finding_idx ON test_import_finding_actions (finding_id);
INSERT INTO test_import_finding_actions (test_import_id, finding_id, action, created_at)
    SELECT s.test_import_id, u.finding_id, s.action, s.created_at
    FROM test_import_action_sets s CROSS JOIN LATERAL unnest(s.finding_ids) AS u(finding_id)
    WHERE EXISTS (SELECT 1 FROM findings f WHERE f.id = u.finding_id)
    ON CONFLICT DO NOTHING;
DROP TABLE test_import_action_sets;

DELETE FROM location_finding_refs c WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = c.finding_id);
ALTER TABLE location_finding_refs ADD CONSTRAINT location_finding_refs_finding_id_fkey FOREIGN KEY (finding_id) REFERENCES findings(id) ON DELETE CASCADE;
DELETE FROM finding_found_by c WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = c.finding_id);
ALTER TABLE finding_found_by ADD CONSTRAINT finding_found_by_finding_id_fkey FOREIGN KEY (finding_id) REFERENCES findings(id) ON DELETE CASCADE;
DELETE FROM finding_cwes c WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = c.finding_id);
ALTER TABLE finding_cwes ADD CONSTRAINT finding_cwes_finding_id_fkey FOREIGN KEY (finding_id) REFERENCES findings(id) ON DELETE CASCADE;
DELETE FROM finding_vulnerability_ids c WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = c.finding_id);
ALTER TABLE finding_vulnerability_ids ADD CONSTRAINT finding_vulnerability_ids_finding_id_fkey FOREIGN KEY (finding_id) REFERENCES findings(id) ON DELETE CASCADE;

UPDATE findings f SET duplicate_finding_id = NULL
    WHERE duplicate_finding_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM findings o WHERE o.id = f.duplicate_finding_id);
ALTER TABLE findings
    ADD CONSTRAINT findings_duplicate_finding_id_fkey FOREIGN KEY (duplicate_finding_id) REFERENCES findings(id) ON DELETE SET NULL,
    ADD CONSTRAINT findings_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id) ON DELETE CASCADE,
    ADD CONSTRAINT findings_engagement_id_fkey FOREIGN KEY (engagement_id) REFERENCES engagements(id) ON DELETE CASCADE;
UPDATE findings f SET reporter_id = NULL WHERE reporter_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = f.reporter_id);
UPDATE findings f SET mitigated_by_id = NULL WHERE mitigated_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = f.mitigated_by_id);
UPDATE findings f SET last_reviewed_by_id = NULL WHERE last_reviewed_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = f.last_reviewed_by_id);
UPDATE findings f SET review_requested_by_id = NULL WHERE review_requested_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = f.review_requested_by_id);
ALTER TABLE findings
    ADD CONSTRAINT findings_reporter_id_fkey FOREIGN KEY (reporter_id) REFERENCES users(id) ON DELETE SET NULL,
    ADD CONSTRAINT findings_mitigated_by_id_fkey FOREIGN KEY (mitigated_by_id) REFERENCES users(id) ON DELETE SET NULL,
    ADD CONSTRAINT findings_last_reviewed_by_id_fkey FOREIGN KEY (last_reviewed_by_id) REFERENCES users(id) ON DELETE SET NULL,
    ADD CONSTRAINT findings_review_requested_by_id_fkey FOREIGN KEY (review_requested_by_id) REFERENCES users(id) ON DELETE SET NULL;
