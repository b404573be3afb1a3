-- Accounts, lockout, devices, token sessions and settings.
CREATE TABLE users (
	id                   TEXT PRIMARY KEY,          -- staff ID, lower case
	name                 TEXT NOT NULL,
	department           TEXT NOT NULL DEFAULT '',
	roles                TEXT NOT NULL,             -- comma-separated
	email                TEXT NOT NULL DEFAULT '',
	password_hash        TEXT NOT NULL,
	must_change_password INTEGER NOT NULL DEFAULT 0,
	disabled             INTEGER NOT NULL DEFAULT 0,
	totp_secret          BLOB,                      -- sealed with the data-dir key
	totp_enrolled        INTEGER NOT NULL DEFAULT 0,
	totp_last_counter    INTEGER NOT NULL DEFAULT 0,
	demo                 INTEGER NOT NULL DEFAULT 0,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL
);
CREATE INDEX users_department ON users(department);

-- Failed sign-ins are counted per submitted staff ID, whether or not it
-- exists, so that lockout tells an attacker nothing about which IDs exist.
CREATE TABLE login_attempts (
	staff_id     TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	window_start INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE devices (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	os           TEXT NOT NULL,
	public_key   BLOB NOT NULL,
	status       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL DEFAULT 0,
	revoked_at   INTEGER NOT NULL DEFAULT 0,
	UNIQUE(user_id, public_key)
);

-- A token session: one access token (short) and one refresh token (long),
-- stored only as SHA-256 hashes. Scope 'full' or 'setup'.
CREATE TABLE sessions (
	id               TEXT PRIMARY KEY,
	user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	device_id        TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	scope            TEXT NOT NULL,
	access_hash      BLOB NOT NULL UNIQUE,
	access_expires   INTEGER NOT NULL,
	refresh_hash     BLOB UNIQUE,
	refresh_expires  INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	revoked_at       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_device ON sessions(device_id);

CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
