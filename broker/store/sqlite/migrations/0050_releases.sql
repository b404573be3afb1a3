-- Self-update (broker/release). Binaries are kept in the database in
-- chunks, so that a backup of the database is a backup of releases and a
-- download streams without holding a whole binary in memory.
CREATE TABLE release_keylists (
	serial    INTEGER PRIMARY KEY,
	body      BLOB NOT NULL,
	signature TEXT NOT NULL,
	added_at  INTEGER NOT NULL
);

CREATE TABLE releases (
	id           TEXT PRIMARY KEY,
	version      TEXT NOT NULL,
	os           TEXT NOT NULL,
	arch         TEXT NOT NULL,
	channel      TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	key_id       TEXT NOT NULL,
	signature    TEXT NOT NULL,
	rollout      INTEGER NOT NULL,
	published_at INTEGER NOT NULL,
	published_by TEXT NOT NULL,
	UNIQUE (channel, os, arch, version)
);

CREATE TABLE release_chunks (
	release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
	n          INTEGER NOT NULL,
	data       BLOB NOT NULL,
	PRIMARY KEY (release_id, n)
);

CREATE TABLE release_channels (
	name        TEXT PRIMARY KEY,
	pin         TEXT NOT NULL,
	min_version TEXT NOT NULL,
	updated_at  INTEGER NOT NULL
);

-- One row: the broker's online key, sealed.
CREATE TABLE release_signer (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	public_key TEXT NOT NULL,
	sealed     BLOB NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE release_manifests (
	channel   TEXT NOT NULL,
	os        TEXT NOT NULL,
	arch      TEXT NOT NULL,
	body      BLOB NOT NULL,
	signature TEXT NOT NULL,
	expires   INTEGER NOT NULL,
	PRIMARY KEY (channel, os, arch)
);
