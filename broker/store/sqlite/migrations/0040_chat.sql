-- Chat. A channel's entries (messages, edits, deletes) are stored once,
-- numbered by the channel's own sequence (chat_channels.last_seq), never
-- once per member. n is an explicit rowid so that the full-text index,
-- which refers to rows by rowid, survives a VACUUM.
CREATE TABLE chat_channels (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	name        TEXT NOT NULL,
	department  TEXT,            -- department channels; unique
	direct_key  TEXT,            -- direct channels: the sorted pair; unique
	created_by  TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	last_seq    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX chat_channels_department ON chat_channels(department) WHERE department IS NOT NULL;
CREATE UNIQUE INDEX chat_channels_direct ON chat_channels(direct_key) WHERE direct_key IS NOT NULL;

-- Members of groups and direct channels. A department channel's members
-- are the department's staff as the roster reads now, so they have no rows.
CREATE TABLE chat_members (
	channel_id TEXT NOT NULL REFERENCES chat_channels(id),
	user_id    TEXT NOT NULL,
	joined_at  INTEGER NOT NULL,
	PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX chat_members_user ON chat_members(user_id);

-- Each user's read marker and mute, for any kind of channel.
CREATE TABLE chat_marks (
	channel_id TEXT NOT NULL REFERENCES chat_channels(id),
	user_id    TEXT NOT NULL,
	read_seq   INTEGER NOT NULL DEFAULT 0,
	muted      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, user_id)
);

CREATE TABLE chat_messages (
	n           INTEGER PRIMARY KEY,
	channel_id  TEXT NOT NULL REFERENCES chat_channels(id),
	seq         INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	sender      TEXT NOT NULL,
	client_key  TEXT NOT NULL,
	text        TEXT NOT NULL,
	reply_to    INTEGER NOT NULL DEFAULT 0,
	quote       TEXT,           -- JSON api.ChatQuote
	mentions    TEXT,           -- JSON array of staff IDs
	target      INTEGER NOT NULL DEFAULT 0,
	at          INTEGER NOT NULL,
	edited_at   INTEGER NOT NULL DEFAULT 0,
	deleted_at  INTEGER NOT NULL DEFAULT 0,
	UNIQUE (channel_id, seq),
	UNIQUE (sender, client_key)
);

-- Earlier texts of edited and deleted messages, kept for the record.
CREATE TABLE chat_revisions (
	channel_id TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	text       TEXT NOT NULL,
	replaced   INTEGER NOT NULL
);
CREATE INDEX chat_revisions_msg ON chat_revisions(channel_id, seq);

-- Japanese has no spaces between words, so the index is of trigrams
-- (every three characters): a query of three or more characters is a
-- substring match anywhere. Shorter queries scan (see Search). Only
-- messages are indexed, with their current text.
CREATE VIRTUAL TABLE chat_fts USING fts5(text, content='chat_messages', content_rowid='n', tokenize='trigram');
CREATE TRIGGER chat_messages_ai AFTER INSERT ON chat_messages WHEN new.kind = 'message' BEGIN
	INSERT INTO chat_fts(rowid, text) VALUES (new.n, new.text);
END;
CREATE TRIGGER chat_messages_au AFTER UPDATE OF text ON chat_messages WHEN new.kind = 'message' BEGIN
	INSERT INTO chat_fts(chat_fts, rowid, text) VALUES ('delete', old.n, old.text);
	INSERT INTO chat_fts(rowid, text) VALUES (new.n, new.text);
END;
CREATE TRIGGER chat_messages_ad AFTER DELETE ON chat_messages WHEN old.kind = 'message' BEGIN
	INSERT INTO chat_fts(chat_fts, rowid, text) VALUES ('delete', old.n, old.text);
END;

CREATE TABLE chat_settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- Status messages people set (午後は窓口). Presence itself is derived
-- from what the broker knows at the moment and is not stored.
CREATE TABLE chat_status (
	user_id    TEXT PRIMARY KEY,
	message    TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
