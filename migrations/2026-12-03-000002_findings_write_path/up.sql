-- The import write path. Per-row foreign-key checks and wide, randomly
-- ordered index keys dominated bulk imports (about 80 µs per finding); this
-- keeps the same guarantees with fewer per-row costs.

-- findings.engagement_id and product_id are copies of the test's parents
-- (findings never move between tests): the test_id key already guarantees
-- them and cascades deletes, so their own checks only cost two lookups and
-- two row locks per inserted finding.
ALTER TABLE findings
    DROP CONSTRAINT findings_engagement_id_fkey,
    DROP CONSTRAINT findings_product_id_fkey,
    -- Each check also locked the original row: 50k row locks for an import
    -- with 50k duplicates. Deleting an original clears the link below.
    DROP CONSTRAINT findings_duplicate_finding_id_fkey,
    -- Four user references checked on every inserted row (even when null);
    -- users are deactivated rather than deleted, and a deletion clears them
    -- with the trigger below.
    DROP CONSTRAINT findings_reporter_id_fkey,
    DROP CONSTRAINT findings_mitigated_by_id_fkey,
    DROP CONSTRAINT findings_last_reviewed_by_id_fkey,
    DROP CONSTRAINT findings_review_requested_by_id_fkey;

CREATE FUNCTION users_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE findings f SET reporter_id = NULL FROM gone g WHERE f.reporter_id = g.id;
    UPDATE findings f SET mitigated_by_id = NULL FROM gone g WHERE f.mitigated_by_id = g.id;
    UPDATE findings f SET last_reviewed_by_id = NULL FROM gone g WHERE f.last_reviewed_by_id = g.id;
    UPDATE findings f SET review_requested_by_id = NULL FROM gone g WHERE f.review_requested_by_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION users_deleted();

-- Rows that only imports write, per finding. Their keys to findings become
-- one statement-level cleanup when findings are deleted.
ALTER TABLE finding_vulnerability_ids DROP CONSTRAINT finding_vulnerability_ids_finding_id_fkey;
ALTER TABLE finding_cwes DROP CONSTRAINT finding_cwes_finding_id_fkey;
ALTER TABLE finding_found_by DROP CONSTRAINT finding_found_by_finding_id_fkey;
ALTER TABLE location_finding_refs DROP CONSTRAINT location_finding_refs_finding_id_fkey;

-- Import history: one row per (import, action) holding the finding ids,
-- instead of one row (two keys, two indexes) per finding.
CREATE TABLE test_import_action_sets (
    id BIGSERIAL PRIMARY KEY,
    test_import_id BIGINT NOT NULL REFERENCES test_imports(id) ON DELETE CASCADE,
    action CHAR(1) NOT NULL CHECK (action IN ('N', 'C', 'R', 'U')),
    finding_ids BIGINT[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX test_import_action_sets_import_idx ON test_import_action_sets (test_import_id);
INSERT INTO test_import_action_sets (test_import_id, action, finding_ids, created_at)
    SELECT test_import_id, action, array_agg(finding_id ORDER BY finding_id), min(created_at)
    FROM test_import_finding_actions GROUP BY test_import_id, action;
DROP TABLE test_import_finding_actions;
-- The per-finding view of the same history (reads and reports).
CREATE VIEW test_import_finding_actions AS
    SELECT s.test_import_id, u.finding_id, s.action, s.created_at
    FROM test_import_action_sets s CROSS JOIN LATERAL unnest(s.finding_ids) AS u(finding_id);

CREATE FUNCTION findings_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM finding_vulnerability_ids c USING gone g WHERE c.finding_id = g.id;
    DELETE FROM finding_cwes c USING gone g WHERE c.finding_id = g.id;
    DELETE FROM finding_found_by c USING gone g WHERE c.finding_id = g.id;
    DELETE FROM location_finding_refs c USING gone g WHERE c.finding_id = g.id;
    UPDATE findings f SET duplicate_finding_id = NULL
        FROM gone g WHERE f.duplicate_finding_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER findings_deleted AFTER DELETE ON findings
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION findings_deleted();

-- Dedupe lookups: a product-scoped 8-byte digest of the key instead of the
-- 64-character hash (a third of the size, so inserts stay in cache);
-- engagement-scoped lookups filter the product's rows.
DROP INDEX findings_product_hash_idx, findings_engagement_hash_idx,
    findings_product_uid_idx, findings_engagement_uid_idx;
CREATE INDEX findings_product_hash_idx ON findings (product_id, hashtextextended(hash_code, 0))
    WHERE hash_code IS NOT NULL;
CREATE INDEX findings_product_uid_idx ON findings (product_id, hashtextextended(unique_id_from_tool, 0))
    WHERE unique_id_from_tool IS NOT NULL;
-- Severity across every product, and severity within a product without an
-- active filter, are served by (product_id, active, numerical_severity, id).
DROP INDEX findings_severity_idx, findings_product_severity_idx;
