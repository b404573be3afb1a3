package oplog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// DefaultRetentionDays keeps logs five years, as the municipalities'
// rules ask; IT may change it (audited).
const DefaultRetentionDays = 5 * 365

const (
	settingRetention = "oplog.retention_days"
	minRetentionDays = 30
	maxRetentionDays = 30 * 365
	purgeChunk       = 5000
)

// Config returns the retention setting.
func (s *Service) Config(ctx context.Context) (api.OplogConfig, error) {
	v, err := s.st.GetSetting(ctx, settingRetention)
	if errors.Is(err, ErrNotFound) {
		return api.OplogConfig{RetentionDays: DefaultRetentionDays}, nil
	}
	if err != nil {
		return api.OplogConfig{}, fmt.Errorf("oplog config: %w", err)
	}
	d, err := strconv.Atoi(v)
	if err != nil || d <= 0 {
		return api.OplogConfig{}, fmt.Errorf("oplog config: bad retention %q", v)
	}
	return api.OplogConfig{RetentionDays: d}, nil
}

// SetConfig changes the retention period; the change and its reason are
// audited.
func (s *Service) SetConfig(ctx context.Context, actor string, u api.OplogConfigUpdate) (api.OplogConfig, error) {
	old, err := s.Config(ctx)
	if err != nil {
		return old, err
	}
	if u.RetentionDays == nil {
		return old, nil
	}
	d := *u.RetentionDays
	if d < minRetentionDays || d > maxRetentionDays {
		return old, api.Errf(api.CodeValidation, "retention_days: %d to %d", minRetentionDays, maxRetentionDays)
	}
	if strings.TrimSpace(u.Reason) == "" {
		return old, api.Err(api.CodeValidation, "reason: say why the retention period changes (it is audited)")
	}
	if e := api.CheckText("reason", u.Reason, 1000); e != nil {
		return old, e
	}
	if err := s.st.PutSetting(ctx, settingRetention, strconv.Itoa(d), s.now().UnixMilli()); err != nil {
		return old, fmt.Errorf("oplog config: %w", err)
	}
	if err := s.Record(ctx, audit.Event{Actor: actor, Action: "oplog.retention_changed", Fields: map[string]string{
		"from_days": strconv.Itoa(old.RetentionDays), "to_days": strconv.Itoa(d), "reason": u.Reason}}); err != nil {
		return old, err
	}
	return api.OplogConfig{RetentionDays: d}, nil
}

// Holds lists legal holds.
func (s *Service) Holds(ctx context.Context) (api.OplogHoldList, error) {
	hs, err := s.st.Holds(ctx)
	if err != nil {
		return api.OplogHoldList{}, fmt.Errorf("holds: %w", err)
	}
	if hs == nil {
		hs = []api.OplogHold{}
	}
	return api.OplogHoldList{Holds: hs}, nil
}

// PlaceHold stops purging for a user or device (audited).
func (s *Service) PlaceHold(ctx context.Context, actor string, h api.OplogHold) (api.OplogHold, error) {
	h.Subject = strings.TrimSpace(h.Subject)
	for _, f := range []struct{ name, v string }{{"subject", h.Subject}, {"reason", h.Reason}} {
		if e := api.CheckText(f.name, f.v, 1000); e != nil {
			return h, e
		}
	}
	switch {
	case h.Kind != api.HoldUser && h.Kind != api.HoldDevice:
		return h, api.Err(api.CodeValidation, "kind: user or device")
	case h.Subject == "" || len(h.Subject) > 128:
		return h, api.Err(api.CodeValidation, "subject: the staff ID or device ID")
	case strings.TrimSpace(h.Reason) == "" || len(h.Reason) > 1000:
		return h, api.Err(api.CodeValidation, "reason: say why (case number), at most 1000 bytes")
	}
	h.CreatedBy, h.CreatedAt = actor, s.now().UTC()
	if err := s.st.PutHold(ctx, h); errors.Is(err, ErrConflict) {
		return h, api.Err(api.CodeOplogHoldExists, h.Kind+" "+h.Subject)
	} else if err != nil {
		return h, fmt.Errorf("place hold: %w", err)
	}
	return h, s.Record(ctx, audit.Event{Actor: actor, Action: "oplog.hold_placed", Target: h.Kind + ":" + h.Subject,
		Fields: map[string]string{"reason": h.Reason}})
}

// ReleaseHold removes a legal hold (audited).
func (s *Service) ReleaseHold(ctx context.Context, actor, kind, subject string) error {
	if err := s.st.DeleteHold(ctx, kind, subject); errors.Is(err, ErrNotFound) {
		return api.Err(api.CodeNotFound, "hold "+kind+" "+subject)
	} else if err != nil {
		return fmt.Errorf("release hold: %w", err)
	}
	return s.Record(ctx, audit.Event{Actor: actor, Action: "oplog.hold_released", Target: kind + ":" + subject})
}

// Purge deletes events older than the retention period, except those of
// held users and devices, in chunks so that ingest is never blocked for
// long. It returns how many were deleted and records the purge.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	cfg, err := s.Config(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := s.now().Add(-time.Duration(cfg.RetentionDays) * 24 * time.Hour).UnixMilli()
	var total int64
	for {
		n, err := s.st.Purge(ctx, cutoff, purgeChunk)
		total += n
		if err != nil {
			return total, fmt.Errorf("purge oplog: %w", err)
		}
		if n < purgeChunk {
			break
		}
	}
	if total > 0 {
		if err := s.Record(ctx, audit.Event{Actor: "system", Action: "oplog.purged", Fields: map[string]string{
			"events": strconv.FormatInt(total, 10), "before": time.UnixMilli(cutoff).UTC().Format(time.RFC3339),
			"retention_days": strconv.Itoa(cfg.RetentionDays)}}); err != nil {
			return total, err
		}
	}
	return total, nil
}
