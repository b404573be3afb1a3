-- Refresh tokens already rotated away, so that presenting one again (a
-- stolen copy racing the real app) is recognised and ends the session
-- (OAuth 2.0 security BCP). Gone with their session.
CREATE TABLE rotated_refresh (
	hash       BYTEA PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE
);
CREATE INDEX rotated_refresh_session ON rotated_refresh(session_id);
