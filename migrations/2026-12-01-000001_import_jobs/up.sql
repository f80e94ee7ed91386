-- Reports of queued imports. They live in the database (not a spool
-- directory) so that any server process can run the job, the upload commits
-- atomically with its job row, and deleting the job removes the report.
CREATE TABLE job_files (
    job_id BIGINT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    file_name VARCHAR(255) NOT NULL DEFAULT '',
    data BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Reclaiming jobs whose worker died looks at running jobs by lock age.
CREATE INDEX jobs_running_idx ON jobs (locked_at) WHERE status = 'running';
