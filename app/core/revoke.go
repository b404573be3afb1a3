package core

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// A lost or stolen laptop: when the broker says IT revoked this laptop
// (a refused refresh, or the event socket cut with the sign-in and the
// refresh that follows refused), the app ends its session, records the
// fact, uploads its operation-log journal through the evidence route
// (the one thing a revoked laptop may still do), then wipes its keyring
// entries and local data and shows the revoked screen. A marker in the
// data directory keeps that screen across restarts, and says whether the
// evidence is still to be sent: without the network the device key stays
// until it is, since only it can sign the journal.

// Revocation is IT's revocation of this laptop as the app knows it.
type Revocation struct {
	At           time.Time `json:"at"`            // when the app learned it
	EvidenceSent bool      `json:"evidence_sent"` // the broker holds the journal
	Wiped        bool      `json:"wiped"`         // keyring entries and local data are gone
}

// Evidence is what Deps.Revoked gets to send the journal.
type Evidence struct {
	DeviceID string
	// Upload sends one signed batch through the tokenless evidence route.
	Upload func(ctx context.Context, b api.OplogBatch) (*api.OplogAck, error)
	// Sign signs with the revoked laptop's device key.
	Sign func(msg []byte) []byte
}

const revokedFile = "revoked.json"

// evidenceTries bounds how long a running app tries to send the journal
// before it leaves the rest to its next start.
const (
	evidenceTries   = 6
	evidenceBackoff = 2 * time.Second
)

// closeSignedOut is the event socket's close code when the sign-in ended
// (broker/events.StatusSignedOut): the app checks at once why.
const closeSignedOut = 4002

func (c *Client) revokedPath() string {
	if c.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(c.cfg.DataDir, revokedFile)
}

// loadRevocation reads the marker a revoked laptop left (nil: none).
func (c *Client) loadRevocation() *Revocation {
	p := c.revokedPath()
	if p == "" {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var r Revocation
	if err := json.Unmarshal(b, &r); err != nil {
		// A damaged marker still means revoked: better a screen too many
		// than a laptop that forgets it was revoked.
		c.log.Warn("revoked marker unreadable", "err", err)
		return &Revocation{}
	}
	return &r
}

func (c *Client) saveRevocation(r Revocation) {
	p := c.revokedPath()
	if p == "" {
		return
	}
	b, _ := json.Marshal(r)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		c.log.Warn("write revoked marker", "err", err)
		return
	}
	if err := os.Rename(tmp, p); err != nil {
		c.log.Warn("write revoked marker", "err", err)
	}
}

// revoked handles the broker's word that this laptop is revoked.
func (c *Client) revoked() {
	c.mu.Lock()
	if c.sessionCancel != nil {
		c.sessionCancel()
		c.sessionCancel = nil
	}
	c.refresh, c.remember = "", false
	devID := c.deviceID
	already := c.state.Revoked != nil
	c.mu.Unlock()
	c.api.SetToken("")
	if already {
		return
	}
	c.log.Warn("this laptop was revoked by IT; sending the operation log, then wiping the sign-in")
	// The first event of the evidence: the laptop saw its revocation.
	c.record("device.revoked", "device", devID)
	rev := Revocation{At: c.now()}
	c.saveRevocation(rev)
	c.setRevoked(rev)
	c.goBackground(func() { c.finishRevocation(c.ctx, devID) })
}

func (c *Client) setRevoked(r Revocation) {
	c.setPhase(SignedOut, func(s *State) {
		*s = State{Phase: SignedOut, Since: s.Since, Err: api.Err(api.CodeDeviceRevoked), Revoked: &r}
	})
}

// finishRevocation sends the journal and wipes what this laptop keeps.
// It runs again at the next start while the evidence is not sent.
func (c *Client) finishRevocation(ctx context.Context, devID string) {
	// The sign-in's entries are dead already: they go first.
	c.wipeSecrets(keyRefresh, keyUser)
	rev := Revocation{At: c.now()}
	if r := c.loadRevocation(); r != nil {
		rev = *r
	}
	// The connection's last events (the tunnel closed, the slot gone)
	// belong in the evidence, and none may reach the journal after it
	// was sent and wiped: the flow ends first (it was cancelled with the
	// session; this waits for it).
	wctx, stop := context.WithTimeout(ctx, 10*time.Second)
	c.StopConnection(wctx)
	stop()
	sent := c.sendEvidence(ctx, devID)
	if !sent {
		// The device key stays: only it can sign the journal next time.
		c.log.Warn("operation log not yet sent as evidence; the next start tries again")
		return
	}
	rev.EvidenceSent = true
	c.wipeSecrets(keyDeviceKey, keyDeviceID)
	rev.Wiped = true
	c.freshKey()
	c.saveRevocation(rev)
	c.setRevoked(rev)
	c.log.Info("revoked laptop wiped", "evidence_sent", true)
}

// sendEvidence hands the journal to Deps.Revoked, retrying a while; it
// reports whether the broker holds all of it (or there is none to send).
func (c *Client) sendEvidence(ctx context.Context, devID string) bool {
	if c.deps.Revoked == nil {
		return true // nothing records here: there is no journal to keep
	}
	if devID == "" {
		// Signed out before the revocation (sign-out forgets the device
		// ID): the journal cannot name its device and stays on disk.
		c.log.Warn("revoked laptop without its device ID: the operation log stays until the next enrollment")
		return true
	}
	key := c.currentKey()
	ev := Evidence{DeviceID: devID, Upload: c.api.UploadEvidence,
		Sign: func(msg []byte) []byte { return ed25519.Sign(key, msg) }}
	wait := evidenceBackoff
	for try := 0; try < evidenceTries; try++ {
		err := c.deps.Revoked(ctx, ev)
		if err == nil {
			return true
		}
		if e := api.AsError(err); e != nil && e.Code == api.CodeEvidenceClosed {
			// The broker takes no more (the window closed, or the laptop
			// was approved again): nothing is gained by keeping the key.
			c.log.Warn("the broker takes no evidence from this laptop", "err", err)
			return true
		}
		c.log.Warn("send operation log as evidence", "err", err, "try", try+1)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait *= 2
	}
	return false
}

func (c *Client) wipeSecrets(keys ...string) {
	for _, k := range keys {
		if err := c.deps.Secrets.Delete(k); err != nil && !errors.Is(err, ErrNoSecret) {
			c.log.Warn("wipe keyring entry", "key", k, "err", err)
		}
	}
}

// freshKey replaces the revoked laptop's key with a new one in memory; it
// reaches the keyring only with the next sign-in (afterAuth), so that a
// wiped laptop holds nothing until someone signs in again.
func (c *Client) freshKey() {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return
	}
	c.keyMu.Lock()
	c.key, c.keyUnsaved = priv, true
	c.keyMu.Unlock()
	c.mu.Lock()
	c.deviceID = ""
	c.mu.Unlock()
}

// resumeRevocation runs at start for a laptop that was revoked: it shows
// the revoked screen and finishes what the last run could not.
func (c *Client) resumeRevocation(r *Revocation) {
	c.setRevoked(*r)
	if r.Wiped {
		return
	}
	devID, _ := c.deps.Secrets.Get(keyDeviceID)
	c.goBackground(func() { c.finishRevocation(c.ctx, devID) })
}

// ClearRevoked leaves the revoked screen for the login (IT handed the
// laptop back): the next sign-in enrolls it as a new laptop.
func (c *Client) ClearRevoked() {
	c.mu.Lock()
	r := c.state.Revoked
	c.mu.Unlock()
	if r == nil || !r.Wiped {
		return // the evidence is not sent yet: the screen stays
	}
	if p := c.revokedPath(); p != "" {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("remove revoked marker", "err", err)
		}
	}
	c.record("device.revoked_cleared")
	c.setPhase(SignedOut, func(s *State) { *s = State{Phase: SignedOut, Since: s.Since} })
}

func (c *Client) currentKey() ed25519.PrivateKey {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	return c.key
}

// kickStatus asks keepStatus to read the free slots now.
func (c *Client) kickStatus() {
	select {
	case c.statusKick <- struct{}{}:
	default:
	}
}

// kickRefresh asks the token refresher to check the sign-in now (the
// event socket was cut with it, or a token was refused).
func (c *Client) kickRefresh() {
	select {
	case c.refreshKick <- struct{}{}:
	default:
	}
}
