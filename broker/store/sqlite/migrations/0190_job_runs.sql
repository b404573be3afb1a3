-- The last start of each database-wide background job (broker/jobs), so
-- that of several brokers on one database one runs it per period.
CREATE TABLE job_runs (
	name       TEXT PRIMARY KEY,
	started_at INTEGER NOT NULL,
	started_by TEXT NOT NULL
);
