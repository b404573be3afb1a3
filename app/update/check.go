package update

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Offer is a verified release this device should run.
type Offer struct {
	Target api.ReleaseTarget
	// Required: the running version is below IT's minimum; the app must
	// update before it may connect.
	Required bool
	Pinned   bool
	Manifest api.Manifest
}

// InRollout reports whether a device is among the first percent of
// devices in a staged rollout. The place is a hash of the device ID
// alone, so it is stable per device: raising the percentage only adds
// devices, and a device never flips between checks.
func InRollout(deviceID string, percent int) bool {
	if percent >= 100 {
		return true
	}
	sum := sha256.Sum256([]byte("zaitaku rollout\x00" + deviceID))
	return int(binary.BigEndian.Uint64(sum[:8])%100) < percent
}

// Check fetches the key lists and the manifest, verifies them, and
// returns the release this device should move to, or nil when it is up
// to date (or outside the rollout). A refusal is a *Refused.
func (u *Updater) Check(ctx context.Context) (*Offer, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.record("update.check")
	s, err := u.loadState()
	if err != nil {
		return nil, err
	}
	t, err := u.refreshKeys(ctx, &s)
	if err != nil {
		return nil, err
	}
	doc, err := u.cfg.Source.ReleaseManifest(ctx, u.cfg.Channel, u.cfg.OS, u.cfg.Arch)
	if err != nil {
		u.record("update.check_failed", "err", err.Error())
		return nil, err
	}
	m, err := u.verifyManifest(t, doc)
	if err != nil {
		return nil, err
	}
	var target *api.ReleaseTarget
	switch {
	case m.Pinned:
		target = m.Target
	case m.Target != nil && InRollout(u.deviceID(), m.Rollout):
		target = m.Target
	default:
		target = m.Fallback
	}
	required := m.MinVersion != "" && api.CompareVersions(u.cfg.Version, m.MinVersion) < 0
	if target == nil || api.CompareVersions(target.Version, u.cfg.Version) == 0 {
		u.record("update.current", "rollout", strconv.Itoa(m.Rollout))
		return nil, nil
	}
	if contains(s.Bad, target.Version) {
		u.record("update.skipped", "target", target.Version, "why", "rolled back before")
		return nil, nil
	}
	floor := u.cfg.Version
	if s.Highest != "" && api.CompareVersions(s.Highest, floor) > 0 {
		floor = s.Highest
	}
	if api.CompareVersions(target.Version, floor) < 0 {
		return nil, u.refuse(ReasonOlder, fmt.Sprintf("%s is older than %s, already verified", target.Version, floor),
			"target", target.Version)
	}
	u.record("update.available", "target", target.Version, "size", strconv.FormatInt(target.Size, 10),
		"pinned", strconv.FormatBool(m.Pinned), "required", strconv.FormatBool(required))
	return &Offer{Target: *target, Required: required, Pinned: m.Pinned, Manifest: m}, nil
}

// verifyManifest checks the online key's signature, that the manifest is
// for this OS, architecture and channel, and that it has not expired: an
// attacker who replays an old, validly signed manifest can hold an app
// back only until it expires.
func (u *Updater) verifyManifest(t trusted, doc *api.SignedDoc) (api.Manifest, error) {
	var m api.Manifest
	if _, r := t.verify(t.list.Online, doc.Body, doc.Signature); r != nil {
		return m, u.refuse(r.Reason, "manifest: "+r.Detail)
	}
	if err := json.Unmarshal(doc.Body, &m); err != nil {
		return m, u.refuse(ReasonManifest, "not a manifest")
	}
	if m.OS != u.cfg.OS || m.Arch != u.cfg.Arch || m.Channel != u.cfg.Channel {
		return m, u.refuse(ReasonManifest, fmt.Sprintf("manifest for %s/%s/%s", m.Channel, m.OS, m.Arch))
	}
	if now := u.cfg.Now(); !now.Before(m.Expires) {
		return m, u.refuse(ReasonExpired, fmt.Sprintf("manifest expired at %s (now %s)",
			m.Expires.UTC().Format("2006-01-02 15:04Z"), now.UTC().Format("2006-01-02 15:04Z")))
	}
	if m.KeySerial > t.list.Serial {
		return m, u.refuse(ReasonKeyChain, fmt.Sprintf("manifest signed under key list %d, the app holds %d", m.KeySerial, t.list.Serial))
	}
	return m, nil
}

func (u *Updater) deviceID() string {
	if u.cfg.DeviceID == "" && u.cfg.Device != nil {
		return u.cfg.Device()
	}
	return u.cfg.DeviceID
}
