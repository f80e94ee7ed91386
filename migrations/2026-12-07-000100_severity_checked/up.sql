-- Severity is read into a Rust enum (domain::severity::Severity), and a value
-- the enum does not know is an error on read, never Info. So the database must
-- hold only the five canonical names, and numerical_severity must be the one
-- that goes with each (it is what lists sort by).
--
-- findings.severity has carried CHECK (severity IN (...)) since create_core;
-- numerical_severity and system_settings.jira_minimum_severity had no check.
-- This migration converts nothing silently: it first looks for rows that break
-- the new rules and, if it finds any, stops with an error that names them, so
-- an operator fixes them deliberately (the statements are in the error's hint).
DO $$
DECLARE
    bad_findings TEXT;
    bad_settings TEXT;
BEGIN
    SELECT string_agg(DISTINCT format('%s/%s', severity, numerical_severity), ', ')
      INTO bad_findings
      FROM findings
     WHERE (severity, numerical_severity) NOT IN
           (('Critical', 'S0'), ('High', 'S1'), ('Medium', 'S2'), ('Low', 'S3'), ('Info', 'S4'));
    IF bad_findings IS NOT NULL THEN
        RAISE EXCEPTION 'findings with a severity/numerical_severity pair outside Critical/S0, High/S1, Medium/S2, Low/S3, Info/S4: %', bad_findings
            USING HINT = 'set numerical_severity from severity (UPDATE findings SET numerical_severity = ... WHERE severity = ...) and run the migration again';
    END IF;

    SELECT string_agg(DISTINCT jira_minimum_severity, ', ')
      INTO bad_settings
      FROM system_settings
     WHERE jira_minimum_severity NOT IN ('Critical', 'High', 'Medium', 'Low', 'Info');
    IF bad_settings IS NOT NULL THEN
        RAISE EXCEPTION 'system_settings.jira_minimum_severity is not a severity name: %', bad_settings
            USING HINT = 'set it to Critical, High, Medium, Low or Info and run the migration again';
    END IF;
END
$$;

ALTER TABLE findings
    ADD CONSTRAINT findings_numerical_severity_matches CHECK (
        (severity, numerical_severity) IN
        (('Critical', 'S0'), ('High', 'S1'), ('Medium', 'S2'), ('Low', 'S3'), ('Info', 'S4'))
    );

ALTER TABLE system_settings
    ADD CONSTRAINT system_settings_jira_minimum_severity_check CHECK (
        jira_minimum_severity IN ('Critical', 'High', 'Medium', 'Low', 'Info')
    );
