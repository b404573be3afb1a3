-- Operation logs: device events (uploaded in signed, hash-chained batches)
-- and the broker's own audit events (device 'broker'), kept for the
-- retention period unless a legal hold covers the user or device.
CREATE TABLE oplog_events (
	id          INTEGER PRIMARY KEY,       -- keyset pagination tie-break
	device_id   TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	at          INTEGER NOT NULL,          -- unix ms, the device's clock
	user_id     TEXT NOT NULL DEFAULT '',  -- device owner, or the actor for broker events
	department  TEXT NOT NULL DEFAULT '',
	type        TEXT NOT NULL,
	target      TEXT NOT NULL DEFAULT '',
	fields      TEXT NOT NULL DEFAULT '',  -- JSON object
	prev        BLOB NOT NULL,
	hash        BLOB NOT NULL,
	received_at INTEGER NOT NULL,
	UNIQUE(device_id, seq)
);
-- "user X on day D" is the common question (and the benchmark). Two
-- indexes only: a third on (at) halved ingest when many laptops upload
-- backlogs that overlap in time (every insert lands somewhere else in
-- it). Department searches go through the department's staff and this
-- index; type- or time-only searches and the purge scan (rowid order).
CREATE INDEX oplog_events_user_at ON oplog_events(user_id, at);

-- The chain tip per device, so that ingest checks continuity without
-- searching the big table, and a purge of old rows does not lose it.
CREATE TABLE oplog_chains (
	device_id  TEXT PRIMARY KEY,
	last_seq   INTEGER NOT NULL,
	last_hash  BLOB NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE oplog_findings (
	id         INTEGER PRIMARY KEY,
	device_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	seq        INTEGER NOT NULL,
	kind       TEXT NOT NULL,             -- gap, chain_broken, conflict, out_of_order
	detail     TEXT NOT NULL,
	at         INTEGER NOT NULL
);
CREATE INDEX oplog_findings_device ON oplog_findings(device_id, id);

CREATE TABLE oplog_holds (
	kind       TEXT NOT NULL,             -- user or device
	subject    TEXT NOT NULL,
	reason     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (kind, subject)
);
