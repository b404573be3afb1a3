-- zaitaku: additive
-- The slots' change feed (issue 19, several brokers on one database):
-- every live slot row and every history row carries a version from one
-- sequence, bumped whenever the row is written in a way other brokers
-- decide by (inserted, granted, moved to another broker or sign-in, its
-- PC given), so that a broker told of another's commit reads only the
-- rows changed since the version it last saw, and the ends since (the
-- history rows), instead of every live slot (slots.Ledger.Decide).
--
-- Additive, safe beside a broker of the version before, which knows
-- nothing of it: the columns have defaults (its INSERTs name their
-- columns and get a version from the sequence), and its UPDATEs (grants,
-- takeovers) get theirs from the trigger, which only sets the new column.
-- Existing rows keep 0 (a broker's first read is a full one); the
-- default is set after the column is added, so that neither table is
-- rewritten while the older brokers run (slot_history may be years long).
CREATE SEQUENCE slot_version_seq;
ALTER TABLE slots ADD COLUMN slot_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slots ALTER COLUMN slot_version SET DEFAULT nextval('slot_version_seq');
ALTER TABLE slot_history ADD COLUMN slot_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slot_history ALTER COLUMN slot_version SET DEFAULT nextval('slot_version_seq');
CREATE INDEX slots_version ON slots(slot_version);
CREATE INDEX slot_history_version ON slot_history(slot_version) WHERE slot_version > 0;

CREATE FUNCTION slot_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.state IS DISTINCT FROM OLD.state OR NEW.queue_seq IS DISTINCT FROM OLD.queue_seq
		OR NEW.terminal_id IS DISTINCT FROM OLD.terminal_id OR NEW.broker IS DISTINCT FROM OLD.broker
		OR NEW.session_id IS DISTINCT FROM OLD.session_id OR NEW.device_id IS DISTINCT FROM OLD.device_id THEN
		NEW.slot_version := nextval('slot_version_seq');
	END IF;
	RETURN NEW;
END
$$;
-- Heartbeats (lease, activity, bytes) do not bump it: they decide
-- nothing elsewhere, and are read with the periodic full read.
CREATE TRIGGER slots_version BEFORE UPDATE ON slots FOR EACH ROW EXECUTE FUNCTION slot_version_bump();
