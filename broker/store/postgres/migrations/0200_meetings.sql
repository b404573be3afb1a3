-- Scheduled meetings (broker/schedule). Rooms and their media are in the
-- broker's memory only; what is kept is the meeting's title and time and
-- who may join. until_at is when it stops being listed (its end, or
-- api.MeetingOpenFor after a start without one), so that the list is
-- one index range.
CREATE TABLE meetings (
	id         TEXT PRIMARY KEY,
	title      TEXT NOT NULL,
	starts_at  BIGINT NOT NULL,
	ends_at    BIGINT NOT NULL DEFAULT 0,  -- 0: no end given
	until_at   BIGINT NOT NULL,
	department TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX meetings_department ON meetings(department, until_at);
CREATE INDEX meetings_created_by ON meetings(created_by, until_at);

-- Staff invited from outside the organizer's department.
CREATE TABLE meeting_invitees (
	meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL,
	PRIMARY KEY (meeting_id, user_id)
);
CREATE INDEX meeting_invitees_user ON meeting_invitees(user_id);
