-- Several brokers on one database decide the cap together (issue 19):
-- each live slot names the broker serving its holder (which tells them
-- of a grant or an end), and requests are numbered from one database-wide
-- sequence so that the queue is one queue in arrival order.
ALTER TABLE slots ADD COLUMN broker TEXT NOT NULL DEFAULT '';
CREATE SEQUENCE slot_queue_seq;
SELECT setval('slot_queue_seq', COALESCE((SELECT MAX(queue_seq) FROM slots), 0) + 1, false);
CREATE INDEX slots_state_seq ON slots(state, queue_seq);
