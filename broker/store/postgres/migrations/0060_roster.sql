-- The reading of a name (katakana), as the personnel roster carries it.
ALTER TABLE users ADD COLUMN kana TEXT NOT NULL DEFAULT '';

-- Roster imports: applied at once, or pending until their effective date
-- (JST midnight, effective_at) when the broker's roster job applies them.
-- The file is kept decoded (UTF-8) and is parsed again when applied, so
-- the changes are computed against the data of that day.
CREATE TABLE roster_imports (
	id              TEXT PRIMARY KEY,
	actor           TEXT NOT NULL,
	limited         BIGINT NOT NULL DEFAULT 0, -- a department IT contact's import
	department      TEXT NOT NULL DEFAULT '',   -- their department, when limited
	file_name       TEXT NOT NULL DEFAULT '',
	encoding        TEXT NOT NULL,
	csv             TEXT NOT NULL,
	effective       TEXT NOT NULL,              -- YYYY-MM-DD, JST
	effective_at    BIGINT NOT NULL,
	disable_missing BIGINT NOT NULL DEFAULT 0,
	status          TEXT NOT NULL,              -- pending, applied, cancelled, failed
	report          TEXT NOT NULL DEFAULT '',   -- JSON of api.RosterReport once applied or failed
	created_at      BIGINT NOT NULL,
	applied_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX roster_imports_due ON roster_imports(status, effective_at);
