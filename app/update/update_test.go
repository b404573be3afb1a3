package update_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/release"
)

// TestUpdateHappyPath: a laptop on 1.0.0 finds 2.0.0, downloads and
// verifies it, and the binary in its install directory is replaced; the
// old one is kept beside it.
func TestUpdateHappyPath(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "2.0.0", 100, f.release)
	d := newDevice(t, "dev-happy", "1.0.0")
	u := f.updater(t, d, "1.0.0")
	o := check(t, u)
	if o == nil || o.Target.Version != "2.0.0" || o.Required {
		t.Fatalf("offer = %+v, want 2.0.0", o)
	}
	var done, total int64
	if err := u.Apply(t.Context(), o, func(d, tt int64) { done, total = d, tt }); err != nil {
		t.Fatal(err)
	}
	if got := runs(t, d.exe); got != "2.0.0" {
		t.Fatalf("the replaced binary reports %q, want 2.0.0", got)
	}
	if got := runs(t, d.exe+update.PreviousSuffix); got != "1.0.0" {
		t.Fatalf("the kept binary reports %q, want 1.0.0", got)
	}
	if done != total || total != o.Target.Size {
		t.Errorf("progress ended at %d of %d, size %d", done, total, o.Target.Size)
	}
	d.ev.has(t, "update.check", "update.keys", "update.available", "update.download", "update.verified", "update.applied")
	// The new version, once up, finds nothing newer.
	if o := check(t, f.updater(t, d, "2.0.0")); o != nil {
		t.Fatalf("2.0.0 is offered %+v", o)
	}
}

// inject stores a release as a compromised broker (or its online key)
// could, skipping every check the release service makes, and re-signs.
func (f *fixture) inject(t *testing.T, r release.Record, body []byte) {
	t.Helper()
	if err := f.b.Store.Releases().AddRelease(t.Context(), r, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rel.SignManifests(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func record(version string, body []byte, sig string) release.Record {
	sum := sha256.Sum256(body)
	return release.Record{Release: api.Release{ID: "rel_" + version, Version: version, OS: "linux", Arch: "amd64", Channel: "stable",
		Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), Rollout: 100, PublishedAt: time.Now()}, Signature: sig}
}

// TestUpdateRefusals: the manifest is validly signed by the online key,
// but what it points at is not what the release key signed, or the
// network spoils it. Each is refused, named, recorded, and the binary is
// left as it was.
func TestUpdateRefusals(t *testing.T) {
	const notOffered = update.Reason("")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, f *fixture, n *network)
		want  update.Reason
	}{
		{"wrong signature", func(t *testing.T, f *fixture, n *network) {
			body := script("2.0.0")
			f.inject(t, record("2.0.0", body, f.release.sign([]byte("another binary"))), body)
		}, update.ReasonSignature},
		{"unsigned", func(t *testing.T, f *fixture, n *network) {
			body := script("2.0.0")
			f.inject(t, record("2.0.0", body, ""), body)
		}, notOffered},
		{"signed by a key the list does not name", func(t *testing.T, f *fixture, n *network) {
			body := script("2.0.0")
			f.inject(t, record("2.0.0", body, newKey(t).sign(body)), body)
		}, notOffered},
		{"wrong checksum", func(t *testing.T, f *fixture, n *network) {
			body := script("2.0.0")
			r := record("2.0.0", body, f.release.sign(body))
			r.SHA256 = hex.EncodeToString(make([]byte, 32))
			f.inject(t, r, body)
		}, update.ReasonChecksum},
		{"truncated download", func(t *testing.T, f *fixture, n *network) {
			f.publish(t, "2.0.0", 100, f.release)
			n.cutAt = 10
		}, update.ReasonTruncated},
		{"declared size not the manifest's", func(t *testing.T, f *fixture, n *network) {
			f.publish(t, "2.0.0", 100, f.release)
			n.declared = 1 << 30
		}, update.ReasonSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			n := &network{Source: f.b.Client(t)}
			tc.setup(t, f, n)
			d := newDevice(t, "dev-1", "1.0.0")
			u := f.updater(t, d, "1.0.0", withSource(n))
			o, err := u.Check(t.Context())
			if tc.want == notOffered {
				// The broker itself leaves out what no trusted release key signed.
				if err != nil || o != nil {
					t.Fatalf("offer %+v, err %v; want nothing offered", o, err)
				}
				return
			}
			if err == nil && o != nil {
				err = u.Apply(t.Context(), o, nil)
			}
			wantRefused(t, err, tc.want)
			if got := runs(t, d.exe); got != "1.0.0" {
				t.Fatalf("after a refusal the binary reports %q", got)
			}
			d.ev.has(t, "update.refused "+string(tc.want))
		})
	}
}

// TestUpdateKeyRotation: IT retires the first release key and rotates
// the root key; a laptop that was away for a year walks the key lists,
// accepts a release signed by the new release key, and refuses one
// signed by the retired key, even in a manifest replayed from before.
func TestUpdateKeyRotation(t *testing.T) {
	f := newFixture(t)
	old := f.publish(t, "2.0.0", 100, f.release)
	d := newDevice(t, "dev-away", "1.0.0")
	// The laptop checks once (and so holds key list 1), then goes away.
	if o := check(t, f.updater(t, d, "1.0.0")); o == nil || o.Target.Version != old.Version {
		t.Fatalf("offer before rotation: %+v", o)
	}
	stale, err := f.b.Client(t).ReleaseManifest(t.Context(), "stable", "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	root2, rel2 := newKey(t), newKey(t)
	// List 2, signed by the old root, hands over to the new root and
	// retires the old release key; list 3 is signed by the new root.
	f.addKeys(t, f.root, api.KeyList{Serial: 2, Roots: []string{root2.String()}, Release: []string{rel2.String()},
		Online: []string{f.online}, Retired: []string{f.release.String()}})
	f.addKeys(t, root2, api.KeyList{Serial: 3, Roots: []string{root2.String()}, Release: []string{rel2.String()},
		Online: []string{f.online}, Retired: []string{f.root.String()}})
	f.publish(t, "3.0.0", 100, rel2)
	f.b.Clock.Advance(365 * 24 * time.Hour)
	if n, err := f.rel.Resign(t.Context()); err != nil || n != 1 {
		t.Fatalf("resign after a year: %d %v", n, err)
	}

	t.Run("a retired key is refused in a replayed manifest", func(t *testing.T) {
		d := newDevice(t, "dev-replay", "1.0.0")
		stale := *stale
		// Kept from an hour before it expired: the replay is in time.
		now := func() time.Time { return f.b.Now().Add(-365*24*time.Hour + time.Hour) }
		u := f.updater(t, d, "1.0.0", withSource(&network{Source: f.b.Client(t), replay: &stale}), withNow(now))
		o := check(t, u) // signed by the online key, which is still trusted
		wantRefused(t, u.Apply(t.Context(), o, nil), update.ReasonRetired)
	})
	t.Run("the rotated keys are accepted after a year away", func(t *testing.T) {
		u := f.updater(t, d, "1.0.0")
		o := check(t, u)
		if o == nil || o.Target.Version != "3.0.0" {
			t.Fatalf("offer after rotation: %+v", o)
		}
		if err := u.Apply(t.Context(), o, nil); err != nil {
			t.Fatal(err)
		}
		if got := runs(t, d.exe); got != "3.0.0" {
			t.Fatalf("binary reports %q", got)
		}
		d.ev.has(t, "update.keys")
	})
	t.Run("a key list that brings back a retired key is refused", func(t *testing.T) {
		// The broker refuses to store it; a compromised one stores it anyway.
		body := []byte(fmt.Sprintf(`{"serial":4,"roots":[%q],"release":[%q],"online":[%q]}`, root2, f.release, f.online))
		if _, err := f.rel.AddKeyList(t.Context(), "cli:it", body, root2.sign(body)); api.AsError(err) == nil ||
			api.AsError(err).Code != api.CodeKeyListRefused {
			t.Fatalf("broker stored a list naming a retired key: %v", err)
		}
		if err := f.b.Store.Releases().AddKeyList(t.Context(), release.KeyListRecord{Serial: 4, Body: body,
			Signature: root2.sign(body)}); err != nil {
			t.Fatal(err)
		}
		_, err := f.updater(t, d, "3.0.0").Check(t.Context())
		wantRefused(t, err, update.ReasonRetired)
	})
	t.Run("a key list signed by the retired root is refused", func(t *testing.T) {
		d := newDevice(t, "dev-fresh", "1.0.0")
		f2 := newFixture(t)
		f2.addKeys(t, f2.root, api.KeyList{Serial: 2, Roots: []string{root2.String()}, Release: []string{f2.release.String()},
			Online: []string{f2.online}})
		// List 3 signed by the old root, which list 2 no longer names.
		body := []byte(fmt.Sprintf(`{"serial":3,"roots":[%q],"release":[%q],"online":[%q]}`, f2.root, f2.release, f2.online))
		if err := f2.b.Store.Releases().AddKeyList(t.Context(), release.KeyListRecord{Serial: 3, Body: body,
			Signature: f2.root.sign(body)}); err != nil {
			t.Fatal(err)
		}
		_, err := f2.updater(t, d, "1.0.0").Check(t.Context())
		wantRefused(t, err, update.ReasonUntrusted)
	})
}

// TestUpdateStagedRollout: the devices offered a staged release are a
// stable share of them, chosen by device ID: raising the percentage only
// adds devices, and halting it offers everyone the release before.
func TestUpdateStagedRollout(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "2.0.0", 100, f.release)
	r3 := f.publish(t, "3.0.0", 30, f.release)
	const n = 120
	offered := func() map[string]bool {
		got := map[string]bool{}
		for i := range n {
			d := newDevice(t, fmt.Sprintf("dev-%03d", i), "1.0.0")
			o := check(t, f.updater(t, d, "1.0.0"))
			if o == nil {
				t.Fatalf("%s offered nothing", d.id)
			}
			got[d.id] = o.Target.Version == "3.0.0"
			if !got[d.id] && o.Target.Version != "2.0.0" {
				t.Fatalf("%s offered %s", d.id, o.Target.Version)
			}
		}
		return got
	}
	count := func(m map[string]bool) int {
		c := 0
		for _, v := range m {
			if v {
				c++
			}
		}
		return c
	}
	at30 := offered()
	if c := count(at30); c < n*15/100 || c > n*45/100 {
		t.Fatalf("at 30%%, %d of %d devices offered 3.0.0", c, n)
	}
	if again := offered(); fmt.Sprint(again) != fmt.Sprint(at30) {
		t.Fatal("the same devices were not chosen twice at the same percentage")
	}
	if _, err := f.rel.SetRollout(t.Context(), "cli:it", r3.ID, 60); err != nil {
		t.Fatal(err)
	}
	at60 := offered()
	for id, in := range at30 {
		if in && !at60[id] {
			t.Fatalf("%s was in the rollout at 30%% and not at 60%%", id)
		}
	}
	if c := count(at60); c <= count(at30) || c > n*75/100 {
		t.Fatalf("at 60%%, %d devices (at 30%%: %d)", c, count(at30))
	}
	if _, err := f.rel.SetRollout(t.Context(), "cli:it", r3.ID, 0); err != nil {
		t.Fatal(err)
	}
	if c := count(offered()); c != 0 {
		t.Fatalf("halted, yet %d devices offered 3.0.0", c)
	}
	// Over many devices the share is close to the percentage.
	in := 0
	for i := range 10000 {
		if update.InRollout(fmt.Sprintf("laptop-%d", i), 25) {
			in++
		}
	}
	if in < 2300 || in > 2700 {
		t.Fatalf("InRollout at 25%%: %d of 10000", in)
	}
}

// TestUpdatePinnedVersion: IT's pin wins over a rollout; the minimum
// version tells an older app it must update before it may connect.
func TestUpdatePinnedVersion(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "2.0.0", 100, f.release)
	f.publish(t, "3.0.0", 100, f.release)
	pin, min := "2.0.0", "1.5.0"
	if _, err := f.rel.UpdateChannel(t.Context(), "cli:it", "stable", api.ChannelUpdate{Pin: &pin, MinVersion: &min}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"dev-a", "dev-b", "dev-c", "dev-d"} {
		o := check(t, f.updater(t, newDevice(t, id, "1.0.0"), "1.0.0"))
		if o == nil || o.Target.Version != "2.0.0" || !o.Pinned || !o.Required {
			t.Fatalf("%s: offer %+v, want the pinned 2.0.0, required", id, o)
		}
	}
	none := ""
	if _, err := f.rel.UpdateChannel(t.Context(), "cli:it", "stable", api.ChannelUpdate{Pin: &none}); err != nil {
		t.Fatal(err)
	}
	if o := check(t, f.updater(t, newDevice(t, "dev-a", "1.8.0"), "1.8.0")); o == nil || o.Target.Version != "3.0.0" || o.Required {
		t.Fatalf("unpinned: %+v, want 3.0.0, not required", o)
	}
}

// TestUpdateRefusesOlder: a validly signed manifest that offers a version
// older than one the app has verified is a rollback attack, refused.
func TestUpdateRefusesOlder(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "1.5.0", 100, f.release)
	f.publish(t, "2.0.0", 100, f.release)
	d := newDevice(t, "dev-old", "1.0.0")
	u := f.updater(t, d, "1.0.0")
	o := check(t, u)
	if err := u.Apply(t.Context(), o, nil); err != nil {
		t.Fatal(err)
	}
	pin := "1.5.0"
	if _, err := f.rel.UpdateChannel(t.Context(), "cli:it", "stable", api.ChannelUpdate{Pin: &pin}); err != nil {
		t.Fatal(err)
	}
	t.Run("older than the running version", func(t *testing.T) {
		_, err := f.updater(t, d, "2.0.0").Check(t.Context())
		wantRefused(t, err, update.ReasonOlder)
	})
	t.Run("older than the highest verified, though the running one is older still", func(t *testing.T) {
		// The 1.0.0 binary is back (put there by hand); the app remembers
		// it verified 2.0.0 and does not go down to 1.5.0.
		if err := os.WriteFile(d.exe, script("1.0.0"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := f.updater(t, d, "1.0.0").Check(t.Context())
		wantRefused(t, err, update.ReasonOlder)
		if got := runs(t, d.exe); got != "1.0.0" {
			t.Fatalf("binary reports %q", got)
		}
	})
	d.ev.has(t, "update.refused older")
}

// TestUpdateRefusesExpiredManifest: a manifest past its expiry is
// refused (a freeze attack replays an old one to keep the app on an old
// version); once the broker re-signs, the app updates.
func TestUpdateRefusesExpiredManifest(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "2.0.0", 100, f.release)
	d := newDevice(t, "dev-frozen", "1.0.0")
	t0 := f.b.Now()
	later := func() time.Time { return t0.Add(release.ManifestTTL + time.Minute) }
	_, err := f.updater(t, d, "1.0.0", withNow(later)).Check(t.Context())
	wantRefused(t, err, update.ReasonExpired)
	d.ev.has(t, "update.refused expired")

	// The broker's job re-signs a manifest past half its life, so one in
	// service never expires.
	f.b.Clock.Advance(release.ManifestTTL/2 + time.Minute)
	if n, err := f.rel.Resign(t.Context()); err != nil || n != 1 {
		t.Fatalf("resign: %d %v", n, err)
	}
	if o := check(t, f.updater(t, d, "1.0.0", withNow(later))); o == nil || o.Target.Version != "2.0.0" {
		t.Fatalf("after re-signing: %+v", o)
	}
}

// TestUpdateRollbackAfterFailedStart: a new version that starts but never
// reaches its sign-in window within a minute is rolled back on the next
// start, reported, and not offered again; the data directory is left as
// it was.
func TestUpdateRollbackAfterFailedStart(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "2.0.0", 100, f.release)
	d := newDevice(t, "dev-crash", "1.0.0")
	// The app's own journal, in the data directory, takes every event.
	jdir := filepath.Join(d.state, "oplog")
	j, err := oplog.Open(jdir, oplog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.ev.also = j
	u1 := f.updater(t, d, "1.0.0")
	if err := u1.Apply(t.Context(), check(t, u1), nil); err != nil {
		t.Fatal(err)
	}
	// 2.0.0 starts and dies before its window.
	if s, err := f.updater(t, d, "2.0.0").Startup(); err != nil || s != update.StartTrial {
		t.Fatalf("first start of 2.0.0: %v %v", s, err)
	}
	f.b.Clock.Advance(2 * time.Minute)
	s, err := f.updater(t, d, "2.0.0").Startup()
	if err != nil || s != update.StartRolledBack {
		t.Fatalf("next start: %v %v, want rolled back", s, err)
	}
	if got := runs(t, d.exe); got != "1.0.0" {
		t.Fatalf("after the rollback the binary reports %q", got)
	}
	d.ev.has(t, "update.trial", "update.rolled_back")
	// The journal survived the update and the rollback, chain intact, with
	// the update's events in it.
	d.ev.also = nil
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = oplog.Open(jdir, oplog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if p := j.Problems(); len(p) != 0 {
		t.Fatalf("journal problems after the rollback: %v", p)
	}
	evs, err := j.Pending(1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	for _, want := range []string{"update.applied", "update.trial", "update.rolled_back"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("journal lacks %s: %v", want, types)
		}
	}
	// 1.0.0 runs again, tells its user once, and is not offered the
	// failed version a second time.
	u1 = f.updater(t, d, "1.0.0")
	if s, err := u1.Startup(); err != nil || s != update.StartNormal {
		t.Fatalf("1.0.0 start: %v %v", s, err)
	}
	if got := update.NewAgent(u1, time.Hour).Status().RolledBack; got != "2.0.0" {
		t.Fatalf("the restored app's status names %q as rolled back, want 2.0.0", got)
	}
	if got := update.NewAgent(f.updater(t, d, "1.0.0"), time.Hour).Status().RolledBack; got != "" {
		t.Fatalf("the rollback is told twice (%q)", got)
	}
	if o := check(t, u1); o != nil {
		t.Fatalf("the rolled-back version is offered again: %+v", o)
	}

	t.Run("a version that reaches its window stays", func(t *testing.T) {
		f.publish(t, "2.0.1", 100, f.release)
		u1 := f.updater(t, d, "1.0.0")
		if err := u1.Apply(context.Background(), check(t, u1), nil); err != nil {
			t.Fatal(err)
		}
		u2 := f.updater(t, d, "2.0.1")
		if s, err := u2.Startup(); err != nil || s != update.StartTrial {
			t.Fatalf("first start: %v %v", s, err)
		}
		if err := u2.Confirm(); err != nil {
			t.Fatal(err)
		}
		f.b.Clock.Advance(2 * time.Minute)
		if s, err := f.updater(t, d, "2.0.1").Startup(); err != nil || s != update.StartNormal {
			t.Fatalf("start after confirming: %v %v", s, err)
		}
		if got := runs(t, d.exe); got != "2.0.1" {
			t.Fatalf("binary reports %q", got)
		}
		d.ev.has(t, "update.confirmed")
	})
}

// TestUpdateAgent: the app's background loop checks when kicked,
// downloads with progress, applies, publishes Ready once, and does not
// fetch the release again on the next checks; a refusal is a status
// with its reason.
func TestUpdateAgent(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "2.0.0", 100, f.release)
	d := newDevice(t, "dev-run", "1.0.0")
	a := update.NewAgent(f.updater(t, d, "1.0.0"), 20*time.Millisecond)
	var mu sync.Mutex
	var seen []update.Status
	a.Subscribe(func(s update.Status) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	a.Kick()
	deadline := time.Now().Add(20 * time.Second)
	for a.Status().Phase != update.PhaseReady {
		if time.Now().After(deadline) {
			t.Fatalf("no Ready: %+v", a.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a few more ticks
	cancel()
	<-done
	if st := a.Status(); st.Target != "2.0.0" || st.Phase != update.PhaseReady {
		t.Fatalf("status %+v", st)
	}
	mu.Lock()
	var phases []string
	readies, progress := 0, false
	for _, s := range seen {
		if len(phases) == 0 || phases[len(phases)-1] != s.Phase.String() {
			phases = append(phases, s.Phase.String())
		}
		if s.Phase == update.PhaseReady {
			readies++
		}
		if s.Phase == update.PhaseDownloading && s.Done == s.Total && s.Total > 0 {
			progress = true
		}
	}
	mu.Unlock()
	if got := strings.Join(phases, " "); got != "idle checking downloading ready" {
		t.Errorf("phases %q", got)
	}
	if readies != 1 || !progress {
		t.Errorf("%d Ready snapshots, progress to the end %v", readies, progress)
	}
	if got := runs(t, d.exe); got != "2.0.0" {
		t.Fatalf("binary reports %q", got)
	}
	d.ev.mu.Lock()
	downloads := 0
	for _, e := range d.ev.got {
		if strings.HasPrefix(e, "update.download ") {
			downloads++
		}
	}
	d.ev.mu.Unlock()
	if downloads != 1 {
		t.Fatalf("%d downloads, want 1", downloads)
	}

	t.Run("a refusal is a status with its reason", func(t *testing.T) {
		d := newDevice(t, "dev-refused", "1.0.0")
		u := f.updater(t, d, "1.0.0", withSource(&network{Source: f.b.Client(t), cutAt: 5}))
		a := update.NewAgent(u, time.Hour)
		a.Once(t.Context())
		if st := a.Status(); st.Phase != update.PhaseRefused || st.Reason != update.ReasonTruncated || st.Target != "2.0.0" {
			t.Fatalf("status %+v", st)
		}
	})

	t.Run("no broker yet is a quiet failure", func(t *testing.T) {
		d := newDevice(t, "dev-nobroker", "1.0.0")
		a := update.NewAgent(f.updater(t, d, "1.0.0", withSource(&update.Switch{})), time.Hour)
		a.Once(t.Context())
		if st := a.Status(); st.Phase != update.PhaseFailed {
			t.Fatalf("status %+v", st)
		}
	})
}
