-- Users import and export jobs (Auth0's /api/v2/jobs): the job record, the
-- failed rows of an import, and an export's output file in chunks, so any
-- node can answer for a job and serve its file.
CREATE TABLE jobs (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX jobs_status ON jobs (status, heartbeat_at);

CREATE TABLE job_errors (
    seq    INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    idx    INTEGER NOT NULL,
    doc    TEXT NOT NULL
);
CREATE INDEX job_errors_job ON job_errors (job_id, idx);

CREATE TABLE job_files (
    seq    INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    data   BLOB NOT NULL
);
CREATE INDEX job_files_job ON job_files (job_id, seq);
