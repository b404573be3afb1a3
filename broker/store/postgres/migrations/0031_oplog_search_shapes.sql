-- The other shapes IT searches in: a department's day and an event type's
-- day (a device's timeline is the UNIQUE(device_id, seq) index). The
-- department is the one stored with the event: a section's day as it
-- was, whoever has moved since.
--
-- SQLite's migration of this number keys these (subject, hour, id, at)
-- and names the index in the query (INDEXED BY), to keep its ingest fast
-- and its planner on the index. PostgreSQL's planner reads a
-- (subject, at, id) btree backwards for "newest first" and stops at the
-- page's limit, so it gets the plain key.
CREATE INDEX oplog_events_department_at ON oplog_events(department, at, id);
CREATE INDEX oplog_events_type_at ON oplog_events(type, at, id);
