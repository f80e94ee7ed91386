DROP INDEX jobs_running_idx;
DROP TABLE job_files;
