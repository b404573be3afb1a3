package core

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/broker/api"
)

// TestRevokedLaptopCutOffSendsJournalAndWipes: IT revokes a laptop in
// the middle of a session. Through the real broker, the app is cut off
// (slot, tunnel and socket), sends its journal by the evidence route,
// wipes its keyring entries and journal, and a restart shows the revoked
// state with nothing left to sign in with.
func TestRevokedLaptopCutOffSendsJournalAndWipes(t *testing.T) {
	e := newFlowEnv(t, 5)
	ctx := context.Background()
	data := t.TempDir()
	ol, err := oplog.Start(filepath.Join(data, "oplog"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ol.Close)
	sec := NewMemorySecrets()
	deps := Deps{Secrets: sec, Recorder: ol, Now: e.b.Now, Launcher: newFakeLauncher(),
		OnSession: func(s Session) { ol.StartSession(s.API, s.DeviceID, s.Sign, s.Done) },
		Revoked: func(ctx context.Context, ev Evidence) error {
			return ol.Evidence(ctx, ev.DeviceID, ev.Upload, ev.Sign)
		}}
	open := func() *Client {
		c, err := New(Config{BrokerURL: e.b.URL, Fingerprint: e.b.Fingerprint, DeviceName: "laptop-yamada", DataDir: data}, deps)
		if err != nil {
			t.Fatal(err)
		}
		fastTiming(c)
		t.Cleanup(c.Close)
		return c
	}
	c := open()
	u := e.pcs["yamada"]
	if _, err := c.Login(ctx, u.ID, u.Password, e.b.Code(t, u), true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "online", func(s State) bool { return s.Online && s.Terminal != nil })
	c.Connect()
	waitFor(t, c, "connected", phaseIs(Connected))
	devID, _ := sec.Get(keyDeviceID)
	oldKey, _ := sec.Get(keyDeviceKey)
	if devID == "" || oldKey == "" {
		t.Fatal("no device in the keyring after sign-in")
	}

	var rev api.DeviceRevocation
	if err := e.it.Do(ctx, "POST", "/admin/v1/devices/"+devID+"/revoke", nil, &rev); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	// The broker ended the slot at once: the cap is free again.
	if list, err := e.it.Sessions(ctx); err != nil || len(list.Sessions) != 0 {
		t.Fatalf("live sessions after the revocation: %+v %v", list, err)
	}
	st := waitFor(t, c, "the app knows it is revoked", func(s State) bool { return s.Revoked != nil })
	t.Logf("revoked state %s after the revocation", time.Since(cut).Round(time.Millisecond))
	if st.Phase != SignedOut || st.Err == nil || st.Err.Code != api.CodeDeviceRevoked || st.User != nil {
		t.Fatalf("revoked state: %+v", st)
	}
	st = waitFor(t, c, "journal sent and wiped", func(s State) bool { return s.Revoked != nil && s.Revoked.Wiped })
	if !st.Revoked.EvidenceSent {
		t.Fatalf("wiped without the evidence: %+v", st.Revoked)
	}
	for _, k := range []string{keyRefresh, keyUser, keyDeviceID, keyDeviceKey} {
		if v, err := sec.Get(k); !errors.Is(err, ErrNoSecret) {
			t.Errorf("keyring entry %s left after the wipe: %q %v", k, v, err)
		}
	}
	if js := ol.Journal().Status(); js.Pending != 0 {
		t.Errorf("journal after the wipe: %+v", js)
	}

	// The evidence is at the broker, in the device's timeline.
	var tl api.OplogTimeline
	if err := e.it.Do(ctx, "GET", rev.Timeline, nil, &tl); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range tl.Events {
		seen[ev.Type] = true
	}
	for _, typ := range []string{"login.ok", "slot.granted", "device.revoked"} {
		if !seen[typ] {
			t.Errorf("timeline lacks %s: %v", typ, seen)
		}
	}
	if len(tl.Findings) != 0 {
		t.Errorf("the evidence chain has findings: %+v", tl.Findings)
	}

	// A restart shows the revoked screen and holds no key.
	c.Close()
	c2 := open()
	st = c2.State()
	if st.Revoked == nil || !st.Revoked.Wiped || st.Phase != SignedOut {
		t.Fatalf("after a restart: %+v", st)
	}
	if ok, err := c2.Resume(ctx); ok || err != nil {
		t.Fatalf("resume on a wiped laptop: %v %v", ok, err)
	}
	if _, err := sec.Get(keyDeviceKey); !errors.Is(err, ErrNoSecret) {
		t.Errorf("a device key came back at start: %v", err)
	}
	// IT hands it back: the revoked screen gives way to the login, and
	// the next sign-in enrolls a new laptop.
	c2.ClearRevoked()
	if st := c2.State(); st.Revoked != nil || st.Phase != SignedOut {
		t.Fatalf("after clearing: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(data, revokedFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("revoked marker left: %v", err)
	}
	e.b.Clock.Advance(30 * time.Second) // a fresh one-time code
	if _, err := c2.Login(ctx, u.ID, u.Password, e.b.Code(t, u), false); err != nil {
		t.Fatal(err)
	}
	newID, _ := sec.Get(keyDeviceID)
	newKey, _ := sec.Get(keyDeviceKey)
	if newID == "" || newID == devID || newKey == "" || newKey == oldKey {
		t.Fatalf("re-enrolled as device %q (was %q), key changed %v", newID, devID, newKey != oldKey)
	}
}
