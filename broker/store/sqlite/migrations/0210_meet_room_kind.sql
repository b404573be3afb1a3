-- zaitaku: additive
-- What lets every broker list a "meet now" room another one hosts: its
-- department (the list shows a department's rooms to its members) and,
-- for a scheduled meeting's room, the meeting (listed with the meeting,
-- not among the "meet now" rooms). A broker of the version before
-- writes neither; its rooms are then listed to their creator only.
ALTER TABLE meet_rooms ADD COLUMN department TEXT NOT NULL DEFAULT '';
ALTER TABLE meet_rooms ADD COLUMN meeting TEXT NOT NULL DEFAULT '';
