-- zaitaku: additive
-- Frames between the event hubs of brokers sharing a PostgreSQL database
-- that are too long for one NOTIFY. One broker serves a SQLite database,
-- so nothing writes here: the table exists so that both engines keep the
-- same migrations and tables (broker admin db copy moves it as it is).
CREATE TABLE bus_payloads (
	id   INTEGER PRIMARY KEY,
	at   INTEGER NOT NULL, -- unix ms
	data TEXT NOT NULL
);
