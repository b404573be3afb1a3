-- What the RDP client may redirect, set by IT with the session policy.
-- Six flags as columns: 0 everywhere is the LGWAN profile (screen only).
ALTER TABLE slot_config ADD COLUMN rdp_clipboard   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_drives      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_printers    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_smart_cards INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_usb         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_audio       INTEGER NOT NULL DEFAULT 0;
