-- Telework (issue 18): requests and their decisions, each department's
-- policy, IT's holiday calendar, approvers and stand-ins, and the
-- explicit part of the working-time record. Connects and disconnects
-- are not copied here: they are read from slots and slot_history.
CREATE TABLE telework_requests (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL,
	department  TEXT NOT NULL,   -- the requester's when they asked: the approvers are that section's
	kind        TEXT NOT NULL,   -- dates, period
	date_from   TEXT NOT NULL,   -- YYYY-MM-DD (JST), inclusive
	date_to     TEXT NOT NULL,
	dates       TEXT NOT NULL DEFAULT '',  -- the dates of kind dates, comma-separated
	fiscal_year BIGINT NOT NULL DEFAULT 0,
	half        TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	same_day    BIGINT NOT NULL DEFAULT 0,
	state       TEXT NOT NULL,
	decided_by  TEXT NOT NULL DEFAULT '',
	stand_in    BIGINT NOT NULL DEFAULT 0,
	comment     TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	decided_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX telework_requests_user ON telework_requests(user_id, date_to);
CREATE INDEX telework_requests_department ON telework_requests(department, date_to);

CREATE TABLE telework_policies (
	department   TEXT PRIMARY KEY,
	mode         TEXT NOT NULL,
	hours_start  TEXT NOT NULL DEFAULT '',
	hours_end    TEXT NOT NULL DEFAULT '',
	warn_minutes BIGINT NOT NULL DEFAULT 0,
	disconnect   BIGINT NOT NULL DEFAULT 0,
	work_start   TEXT NOT NULL DEFAULT '',
	work_end     TEXT NOT NULL DEFAULT '',
	updated_at   BIGINT NOT NULL,
	updated_by   TEXT NOT NULL
);

CREATE TABLE telework_holidays (
	date TEXT PRIMARY KEY,  -- YYYY-MM-DD
	name TEXT NOT NULL,
	kind TEXT NOT NULL      -- national, municipal
);

CREATE TABLE telework_approvers (
	department TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	PRIMARY KEY (department, user_id)
);

CREATE TABLE telework_standins (
	approver  TEXT PRIMARY KEY,
	stand_in  TEXT NOT NULL,
	date_from TEXT NOT NULL,
	date_to   TEXT NOT NULL
);

CREATE TABLE telework_days (
	user_id  TEXT NOT NULL,
	date     TEXT NOT NULL,
	place    TEXT NOT NULL DEFAULT '',
	start_at BIGINT NOT NULL DEFAULT 0,
	end_at   BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, date)
);
CREATE INDEX telework_days_date ON telework_days(date);
