-- A slot belongs to the sign-in (session) that acquired it, on its
-- enrolled laptop (device), so that it ends with that sign-in and no other
-- sign-in renews it or tunnels through it.
ALTER TABLE slots ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE slots ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
