-- Network segments (三層分離): each office PC's segment, and the satellite
-- offices (source address ranges) My Number PCs may be used from.
ALTER TABLE terminals ADD COLUMN segment TEXT NOT NULL DEFAULT 'lgwan';
CREATE TABLE satellite_offices (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	ranges     TEXT NOT NULL, -- CIDR prefixes, comma-separated
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
