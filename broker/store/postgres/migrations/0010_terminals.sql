-- Office PCs. A terminal is paired with at most one member of staff and a
-- member of staff with at most one terminal; pool terminals have no user
-- and are lent to staff without a personal PC for the length of a session.
CREATE TABLE terminals (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	address    TEXT NOT NULL,
	rdp_port   BIGINT NOT NULL,
	mac        TEXT NOT NULL DEFAULT '',
	wake_addr  TEXT NOT NULL DEFAULT '',
	wake_port  BIGINT NOT NULL DEFAULT 9,
	department TEXT NOT NULL DEFAULT '',
	user_id    TEXT UNIQUE REFERENCES users(id) ON DELETE SET NULL,
	pool       BIGINT NOT NULL DEFAULT 0,
	state      TEXT NOT NULL DEFAULT 'unknown', -- last known: unknown, asleep, awake
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX terminals_pool ON terminals(pool);
