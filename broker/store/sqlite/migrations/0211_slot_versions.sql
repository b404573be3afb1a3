-- The slots' change feed of several brokers on one database (issue 19;
-- on PostgreSQL, where a sequence and a trigger set it). One SQLite
-- broker decides in memory and leaves it 0; the columns are here so that
-- both engines' schemas stay the same for `broker admin db copy`.
ALTER TABLE slots ADD COLUMN slot_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slot_history ADD COLUMN slot_version INTEGER NOT NULL DEFAULT 0;
