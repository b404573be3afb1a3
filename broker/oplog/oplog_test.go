package oplog_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/oplog"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
)

func openTest(t *testing.T) (*sqlite.Store, *oplog.Service, *deviceChain) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "zaitaku.db"), nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dev := &deviceChain{id: "dev-1", key: key}
	svc, err := oplog.New(oplog.Config{Store: st.Oplog(),
		Directory: devices{"dev-1": {PublicKey: pub, UserID: "yamada", Department: "総務課"}}})
	if err != nil {
		t.Fatal(err)
	}
	return st, svc, dev
}

func (d *deviceChain) sign(evs []api.OplogEvent) api.OplogBatch {
	return api.OplogBatch{DeviceID: d.id, Events: evs, Signature: ed25519.Sign(d.key, api.OplogBatchDigest(d.id, evs))}
}

// TestIngestFindingsTamper: what a tampered or broken upload looks like
// to the broker, batch by batch.
func TestIngestFindingsTamper(t *testing.T) {
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		edit     func(evs []api.OplogEvent) []api.OplogEvent
		findings []string
		stored   int
	}{
		{"intact", func(e []api.OplogEvent) []api.OplogEvent { return e }, nil, 10},
		{"edited", func(e []api.OplogEvent) []api.OplogEvent { e[4].Fields["bytes"] = "0"; return e }, []string{api.FindingChain}, 10},
		{"removed", func(e []api.OplogEvent) []api.OplogEvent { return append(e[:4:4], e[5:]...) }, []string{api.FindingGap}, 9},
		{"reordered", func(e []api.OplogEvent) []api.OplogEvent { e[4], e[5] = e[5], e[4]; return e }, []string{api.FindingGap, api.FindingOutOfOrder}, 10},
		{"duplicated in batch", func(e []api.OplogEvent) []api.OplogEvent { return append(e, e[2]) }, nil, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, svc, dev := openTest(t)
			evs := tc.edit(dev.batch(at, 10).Events)
			ack, err := svc.Ingest(context.Background(), dev.id, dev.sign(evs))
			if err != nil {
				t.Fatal(err)
			}
			if ack.Stored != tc.stored || ack.Acked != 10 || ack.Findings != len(tc.findings) {
				t.Fatalf("ack %+v, want %d stored, acked 10, %d findings", ack, tc.stored, len(tc.findings))
			}
			fs, err := st.Oplog().Findings(context.Background(), dev.id, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.findings {
				if fs[i].Kind != want || fs[i].UserID != "yamada" {
					t.Errorf("finding %d: %+v, want %s", i, fs[i], want)
				}
			}
		})
	}
}

func TestIngestRefusesBadBatch(t *testing.T) {
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	_, svc, dev := openTest(t)
	good := dev.batch(at, 3)
	for _, tc := range []struct {
		name   string
		caller string
		batch  func() api.OplogBatch
		code   api.Code
	}{
		{"other caller", "dev-2", func() api.OplogBatch { return good }, api.CodeOplogDeviceMismatch},
		{"no device", "dev-1", func() api.OplogBatch { b := good; b.DeviceID = ""; return b }, api.CodeOplogBatch},
		{"as the broker", api.OplogBrokerDevice, func() api.OplogBatch {
			b := good
			b.DeviceID = api.OplogBrokerDevice
			return b
		}, api.CodeOplogDeviceMismatch},
		{"bad signature", "dev-1", func() api.OplogBatch {
			b := good
			b.Signature = append([]byte(nil), b.Signature...)
			b.Signature[0] ^= 1
			return b
		}, api.CodeOplogSignature},
		{"signed, then edited", "dev-1", func() api.OplogBatch {
			b := good
			b.Events = append([]api.OplogEvent(nil), b.Events...)
			b.Events[1].Type = "login.failed"
			return b
		}, api.CodeOplogSignature},
		{"seq 0", "dev-1", func() api.OplogBatch {
			e := append([]api.OplogEvent(nil), good.Events...)
			e[0].Seq = 0
			return dev.sign(e)
		}, api.CodeOplogBatch},
		{"short prev", "dev-1", func() api.OplogBatch {
			e := append([]api.OplogEvent(nil), good.Events...)
			e[0].Prev = []byte{1}
			return dev.sign(e)
		}, api.CodeOplogBatch},
		{"huge field", "dev-1", func() api.OplogBatch {
			e := append([]api.OplogEvent(nil), good.Events...)
			e[0].Fields = map[string]string{"x": strings.Repeat("x", 2000)}
			return dev.sign(e)
		}, api.CodeOplogBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Ingest(context.Background(), tc.caller, tc.batch())
			var e *api.Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
		})
	}
	// Nothing of the refused batches was stored: the good one goes in whole.
	if ack, err := svc.Ingest(context.Background(), dev.id, good); err != nil || ack.Stored != 3 {
		t.Fatalf("good batch: %+v %v", ack, err)
	}
}

// TestAuditGroupCommitChains: concurrent Record calls each return after
// their event is committed, and the broker's chain has no hole.
func TestAuditGroupCommitChains(t *testing.T) {
	st, svc, _ := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := svc.Record(ctx, audit.Event{Actor: "admin", Action: "slot.granted", Target: "pc-" + strconv.Itoa(g),
					Fields: map[string]string{"i": strconv.Itoa(i)}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	rows, err := st.Oplog().Search(ctx, oplog.Query{Device: api.OplogBrokerDevice, BySeq: true, Asc: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 400 {
		t.Fatalf("%d broker events, want 400", len(rows))
	}
	prev := make([]byte, 32)
	for i, r := range rows {
		rec := oplog.ToRecord(r)
		ev := api.OplogEvent{Seq: r.Seq, At: r.At, Type: r.Type, Fields: rec.Fields, Prev: r.Prev}
		h := ev.Hash()
		if r.Seq != int64(i+1) || string(r.Prev) != string(prev) || string(h[:]) != string(r.Hash) {
			t.Fatalf("chain broken at row %d (seq %d)", i, r.Seq)
		}
		prev = r.Hash
	}
}

// TestRetentionPurgeKeepsHeldDevice: a legal hold on a device keeps its
// events past the retention period; other devices' go, in chunks, and
// the purge itself is recorded.
func TestRetentionPurgeKeepsHeldDevice(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "zaitaku.db"), nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	chains, dir := newDevices(2)
	now := time.Date(2031, 4, 2, 0, 0, 0, 0, time.UTC)
	svc, err := oplog.New(oplog.Config{Store: st.Oplog(), Directory: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := now.AddDate(-5, 0, -10) // past the default five years
	for _, c := range chains {
		for range 3 { // 6,000 old events: more than one purge chunk
			if _, err := svc.Ingest(ctx, c.id, c.batch(old, 2000)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.Ingest(ctx, c.id, c.batch(now.Add(-time.Hour), 3)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.PlaceHold(ctx, "it", api.OplogHold{Kind: api.HoldDevice, Subject: chains[0].id, Reason: "紛失届 2031-04"}); err != nil {
		t.Fatal(err)
	}
	n, err := svc.Purge(ctx)
	if err != nil || n != 6000 {
		t.Fatalf("purged %d (%v), want the unheld device's 6000 old events", n, err)
	}
	for i, want := range []int{6003, 3} {
		rows, err := st.Oplog().Search(ctx, oplog.Query{Device: chains[i].id, Limit: 10000})
		if err != nil || len(rows) != want {
			t.Fatalf("device %d keeps %d events (%v), want %d", i, len(rows), err, want)
		}
	}
	rows, _ := st.Oplog().Search(ctx, oplog.Query{Device: api.OplogBrokerDevice, Type: "oplog.purged", Limit: 10})
	if len(rows) != 1 || !strings.Contains(rows[0].Fields, `"events":"6000"`) {
		t.Fatalf("purge not recorded: %+v", rows)
	}
}
