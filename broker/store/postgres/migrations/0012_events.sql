-- The event socket's recent events, per user, for resuming after a cut or
-- a broker restart. event_seqs keeps each user's counter so that sequence
-- numbers never go back even after old events are purged.
CREATE TABLE events (
	user_id TEXT NOT NULL,
	seq     BIGINT NOT NULL,
	type    TEXT NOT NULL,
	at      BIGINT NOT NULL,
	data    TEXT NOT NULL,
	PRIMARY KEY (user_id, seq)
);
CREATE INDEX events_at ON events(at);

CREATE TABLE event_seqs (
	user_id TEXT PRIMARY KEY,
	seq     BIGINT NOT NULL
);
