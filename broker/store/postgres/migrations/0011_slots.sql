-- Live slots (queued or granted). A row exists only while the slot lives;
-- when it ends it moves to slot_history in the same transaction.
CREATE TABLE slots (
	id             TEXT PRIMARY KEY,
	user_id        TEXT NOT NULL UNIQUE,       -- a user holds at most one slot
	state          TEXT NOT NULL,              -- queued, granted
	queue_seq      BIGINT NOT NULL,           -- FIFO order of requests
	terminal_id    TEXT NOT NULL DEFAULT '',
	device         TEXT NOT NULL DEFAULT '',
	requested_at   BIGINT NOT NULL,
	granted_at     BIGINT NOT NULL DEFAULT 0,
	lease_until    BIGINT NOT NULL,
	last_active_at BIGINT NOT NULL,
	warned         TEXT NOT NULL DEFAULT '',   -- end reason already warned about
	bytes_up       BIGINT NOT NULL DEFAULT 0,
	bytes_down     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE slot_history (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL,
	terminal_id  TEXT NOT NULL DEFAULT '',
	device       TEXT NOT NULL DEFAULT '',
	requested_at BIGINT NOT NULL,
	granted_at   BIGINT NOT NULL DEFAULT 0, -- 0: left the queue before a grant
	ended_at     BIGINT NOT NULL,
	reason       TEXT NOT NULL,
	bytes_up     BIGINT NOT NULL DEFAULT 0,
	bytes_down   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX slot_history_ended ON slot_history(ended_at);
CREATE INDEX slot_history_user ON slot_history(user_id, ended_at);

-- The cap and session policy (one row).
CREATE TABLE slot_config (
	id           BIGINT PRIMARY KEY CHECK (id = 1),
	cap          BIGINT NOT NULL,
	idle_minutes BIGINT NOT NULL,
	max_minutes  BIGINT NOT NULL,
	warn_minutes BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	updated_by   TEXT NOT NULL
);

-- Ends asked for from outside the running broker (`broker admin sessions
-- end`): the broker applies them on its next sweep, within seconds.
CREATE TABLE slot_end_requests (
	slot_id    TEXT PRIMARY KEY,
	actor      TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
