-- Several brokers on one database decide the cap together (issue 19; on
-- PostgreSQL): each live slot names the broker serving its holder. One
-- SQLite broker leaves it empty; the column is here so that both
-- engines' schemas stay the same for `broker admin db copy`.
ALTER TABLE slots ADD COLUMN broker TEXT NOT NULL DEFAULT '';
CREATE INDEX slots_state_seq ON slots(state, queue_seq);
