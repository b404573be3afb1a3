-- BCP mode (issue 15): one row, the cap and priority lists IT configured
-- and whether the mode is on, with the reason of the last switch.
CREATE TABLE bcp_mode (
	id          BIGINT PRIMARY KEY CHECK (id = 1),
	active      BIGINT NOT NULL,
	cap         BIGINT NOT NULL,
	roles       TEXT NOT NULL,   -- comma-separated api roles
	departments TEXT NOT NULL,   -- JSON array of department names
	reason      TEXT NOT NULL,
	since       BIGINT NOT NULL, -- unix ms of the last switch, 0: never
	updated_at  BIGINT NOT NULL,
	updated_by  TEXT NOT NULL
);
