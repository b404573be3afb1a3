-- What the RDP client may redirect, set by IT with the session policy.
-- Six flags as columns: 0 everywhere is the LGWAN profile (screen only).
ALTER TABLE slot_config ADD COLUMN rdp_clipboard   BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_drives      BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_printers    BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_smart_cards BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_usb         BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slot_config ADD COLUMN rdp_audio       BIGINT NOT NULL DEFAULT 0;
