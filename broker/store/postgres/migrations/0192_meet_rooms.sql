-- zaitaku: additive
-- Running meeting rooms and the broker that hosts each, where several
-- brokers share the database: a room lives in its broker's memory, and a
-- join asked of another broker is sent to this one's own address. The
-- host touches its rows every 30 s; a row untouched for minutes is a
-- dead broker's and is purged after a day. One broker (SQLite) writes
-- none; the table is here so that both engines keep the same tables.
CREATE TABLE meet_rooms (
	id         TEXT PRIMARY KEY,
	broker     TEXT NOT NULL, -- the host's base URL (https://host:port)
	title      TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL, -- unix ms
	seen_at    BIGINT NOT NULL
);
