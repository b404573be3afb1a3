-- Accounts, lockout, devices, token sessions and settings.
CREATE TABLE users (
	id                   TEXT PRIMARY KEY,          -- staff ID, lower case
	name                 TEXT NOT NULL,
	department           TEXT NOT NULL DEFAULT '',
	roles                TEXT NOT NULL,             -- comma-separated
	email                TEXT NOT NULL DEFAULT '',
	password_hash        TEXT NOT NULL,
	must_change_password BIGINT NOT NULL DEFAULT 0,
	disabled             BIGINT NOT NULL DEFAULT 0,
	totp_secret          BYTEA,                      -- sealed with the data-dir key
	totp_enrolled        BIGINT NOT NULL DEFAULT 0,
	totp_last_counter    BIGINT NOT NULL DEFAULT 0,
	demo                 BIGINT NOT NULL DEFAULT 0,
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL
);
CREATE INDEX users_department ON users(department);

-- Failed sign-ins are counted per submitted staff ID, whether or not it
-- exists, so that lockout tells an attacker nothing about which IDs exist.
CREATE TABLE login_attempts (
	staff_id     TEXT PRIMARY KEY,
	failures     BIGINT NOT NULL,
	window_start BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE devices (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	os           TEXT NOT NULL,
	public_key   BYTEA NOT NULL,
	status       TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL DEFAULT 0,
	revoked_at   BIGINT NOT NULL DEFAULT 0,
	UNIQUE(user_id, public_key)
);

-- A token session: one access token (short) and one refresh token (long),
-- stored only as SHA-256 hashes. Scope 'full' or 'setup'.
CREATE TABLE sessions (
	id               TEXT PRIMARY KEY,
	user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	device_id        TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	scope            TEXT NOT NULL,
	access_hash      BYTEA NOT NULL UNIQUE,
	access_expires   BIGINT NOT NULL,
	refresh_hash     BYTEA UNIQUE,
	refresh_expires  BIGINT NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	revoked_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_device ON sessions(device_id);

CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
