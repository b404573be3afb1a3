-- The other shapes IT searches in: a department's day and an event type's
-- day (a device's timeline is the UNIQUE(device_id, seq) index). Through
-- the department's staff a department's day took 41 ms over 10 million
-- events, and a type's day scanned (66 ms).
--
-- Keyed (subject, hour, id, at) rather than (subject, at): laptops back
-- from a night offline upload backlogs that overlap in time, and a
-- (type, at) index scatters each batch over the whole hour's pages —
-- ingest fell to a fifth (oplog.rows_per_s). The rowid grows with every
-- insert, so within a subject's hour each batch lands at the end, on a
-- page or two. A search reads the hours of its range from the index alone
-- (at is in it), keeps the newest page of ids, and only then fetches
-- those rows. The department is the one stored with the event: a
-- section's day as it was, whoever has moved since.
CREATE INDEX oplog_events_department_hour ON oplog_events(department, at/3600000, id, at);
CREATE INDEX oplog_events_type_hour ON oplog_events(type, at/3600000, id, at);
