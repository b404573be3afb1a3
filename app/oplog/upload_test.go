package oplog

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// storedEvents returns every stored event of a device, oldest first.
func storedEvents(t *testing.T, admin *brokertest.Session, device string) []api.OplogRecord {
	t.Helper()
	var out []api.OplogRecord
	q := api.OplogQuery{Device: device, Asc: true, Limit: 1000}
	for {
		page, err := admin.SearchOplogs(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Events...)
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

// assertExactlyOnce checks that the broker holds seq 1..n of the device,
// each once, with the chain the journal made.
func assertExactlyOnce(t *testing.T, recs []api.OplogRecord, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("broker stored %d events, want exactly %d", len(recs), n)
	}
	seen := map[int64]bool{}
	for _, r := range recs {
		if seen[r.Seq] {
			t.Fatalf("event %d stored twice", r.Seq)
		}
		seen[r.Seq] = true
	}
	for i := int64(1); i <= int64(n); i++ {
		if !seen[i] {
			t.Fatalf("event %d missing", i)
		}
	}
}

func recordN(t *testing.T, j *Journal, n int) {
	t.Helper()
	for i := range n {
		if err := j.Record("tunnel.close", map[string]string{"bytes": strconv.Itoa(i * 1000), "terminal": "pc-1"}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitDrained waits (bounded, as a guard only) until the broker
// acknowledged everything.
func waitDrained(t *testing.T, u *Uploader) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for u.Status().Pending > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not drained: %+v", u.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUploadStoresEveryEventOnce(t *testing.T) {
	b := brokertest.Start(t)
	staff := b.Signin(t, "yamada")
	admin := b.Signin(t, "it", api.RoleAdmin)
	j := openT(t, t.TempDir(), Options{SegmentBytes: 16 << 10})
	defer j.Close()
	recordN(t, j, 1234)
	u := NewUploader(j, staff.Client, staff.Login.Device.ID, Ed25519Signer(staff.Key), nil)
	u.BatchMax = 100
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := storedEvents(t, admin, staff.Login.Device.ID)
	assertExactlyOnce(t, recs, 1234)
	if recs[0].UserID != "yamada" || recs[0].Department != "総務課" || recs[0].Type != "tunnel.close" {
		t.Fatalf("stored as %+v", recs[0])
	}
	st := u.Status()
	if st.Pending != 0 || st.Acked != 1234 || st.LastError != "" || st.LastUpload.IsZero() {
		t.Fatalf("status %+v", st)
	}
	if segs, _ := listSegments(j.dir); len(segs) != 1 {
		t.Fatalf("%d segments left after full acknowledgement", len(segs))
	}
}

// lossySender stores the batch at the broker but loses the answer the
// first few times, as when the network drops after the request arrived.
type lossySender struct {
	c     Sender
	mu    sync.Mutex // guards lose and dupes
	lose  int
	dupes int
}

func (l *lossySender) UploadOplog(ctx context.Context, b api.OplogBatch) (*api.OplogAck, error) {
	ack, err := l.c.UploadOplog(ctx, b)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.dupes += ack.Dupes
	}
	if l.lose > 0 {
		l.lose--
		return nil, api.Err(api.CodeNetwork, "connection reset after the request was sent")
	}
	return ack, err
}

func TestUploadIdempotentAfterLostAck(t *testing.T) {
	b := brokertest.Start(t)
	staff := b.Signin(t, "yamada")
	admin := b.Signin(t, "it", api.RoleAdmin)
	j := openT(t, t.TempDir(), Options{})
	defer j.Close()
	recordN(t, j, 500)
	ls := &lossySender{c: staff.Client, lose: 3}
	u := NewUploader(j, ls, staff.Login.Device.ID, Ed25519Signer(staff.Key), nil)
	u.BatchMax, u.MaxAge, u.MinBackoff, u.MaxBackoff = 100, time.Millisecond, time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	waitDrained(t, u)
	cancel()
	<-done
	assertExactlyOnce(t, storedEvents(t, admin, staff.Login.Device.ID), 500)
	if ls.dupes < 100 {
		t.Fatalf("the broker saw %d re-sent events; the lost answers should have made the uploader re-send", ls.dupes)
	}
}

// cutProxy forwards TCP to the broker and can cut every connection at
// once, like a laptop dropping off Wi-Fi.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex // guards conns
	conns  map[net.Conn]bool
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	return n
}

// TestUploadNetworkCutIdempotent cuts the network again and again while
// the uploader works through 3,000 events: afterwards the broker holds
// each exactly once.
func TestUploadNetworkCutIdempotent(t *testing.T) {
	b := brokertest.Start(t)
	staff := b.Signin(t, "yamada")
	admin := b.Signin(t, "it", api.RoleAdmin)
	proxy := startCutProxy(t, strings.TrimPrefix(b.URL, "https://"))
	c, err := api.NewClient("https://"+proxy.ln.Addr().String(), api.ClientOptions{Fingerprint: b.Fingerprint, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(staff.Token())
	j := openT(t, t.TempDir(), Options{})
	defer j.Close()
	const n = 3000
	u := NewUploader(j, c, staff.Login.Device.ID, Ed25519Signer(staff.Key), nil)
	u.BatchMax, u.MaxAge, u.MinBackoff, u.MaxBackoff = 50, time.Millisecond, time.Millisecond, 10*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	cuts := 0
	for i := range n {
		if err := j.Record("slot.granted", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		if i%100 == 50 && proxy.cut() > 0 {
			cuts++
		}
	}
	waitDrained(t, u)
	cancel()
	<-done
	if cuts < 5 {
		t.Fatalf("only %d cuts hit open connections", cuts)
	}
	t.Logf("%d cuts, %d consecutive failures at the end, last error %q", cuts, u.Status().Failures, u.Status().LastError)
	assertExactlyOnce(t, storedEvents(t, admin, staff.Login.Device.ID), n)
}

// TestIngestTamperDetected: an event edited, removed or reordered in the
// laptop's journal is reported by the app (Open) and by the broker, which
// flags it as a finding IT sees.
func TestIngestTamperDetected(t *testing.T) {
	b := brokertest.Start(t)
	admin := b.Signin(t, "it", api.RoleAdmin)
	want := map[string][]string{
		"edited":    {api.FindingChain},
		"removed":   {api.FindingGap},
		"reordered": {api.FindingGap, api.FindingOutOfOrder},
	}
	for i, tc := range tamperCases {
		t.Run(tc.name, func(t *testing.T) {
			staff := b.Signin(t, "staff"+strconv.Itoa(i))
			dir := t.TempDir()
			tamperJournal(t, dir, tc.edit)
			j := openT(t, dir, Options{})
			defer j.Close()
			if len(j.Problems()) == 0 {
				t.Fatal("the app did not notice")
			}
			u := NewUploader(j, staff.Client, staff.Login.Device.ID, Ed25519Signer(staff.Key), nil)
			if err := u.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			fl, err := admin.OplogFindings(context.Background(), staff.Login.Device.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]bool{}
			for _, f := range fl.Findings {
				kinds[f.Kind] = true
				if f.UserID != staff.User.ID {
					t.Errorf("finding names user %q, want %q", f.UserID, staff.User.ID)
				}
			}
			for _, k := range want[tc.name] {
				if !kinds[k] {
					t.Errorf("findings %+v lack %s", fl.Findings, k)
				}
			}
			// The app's own report reaches the broker as well.
			recs := storedEvents(t, admin, staff.Login.Device.ID)
			if recs[len(recs)-1].Type != "oplog.damaged" {
				t.Errorf("last stored event %s, want oplog.damaged", recs[len(recs)-1].Type)
			}
		})
	}
}

// TestIngestRefusesOtherDevice: a batch signed with another laptop's key,
// or naming another laptop, is refused and nothing is stored.
func TestIngestRefusesOtherDevice(t *testing.T) {
	b := brokertest.Start(t)
	alice := b.Signin(t, "yamada")
	mallory := b.Signin(t, "sato")
	admin := b.Signin(t, "it", api.RoleAdmin)
	ev := api.OplogEvent{Seq: 1, At: b.Now().UnixMilli(), Type: "login.ok", Prev: make([]byte, 32)}
	batch := func(device string, key func([]byte) []byte) api.OplogBatch {
		bt := api.OplogBatch{DeviceID: device, Events: []api.OplogEvent{ev}}
		bt.Signature = key(api.OplogBatchDigest(device, bt.Events))
		return bt
	}
	for _, tc := range []struct {
		name  string
		by    *brokertest.Session
		batch api.OplogBatch
		code  api.Code
	}{
		{"signed by another device", mallory, batch(mallory.Login.Device.ID, Ed25519Signer(alice.Key)), api.CodeOplogSignature},
		{"names another device", mallory, batch(alice.Login.Device.ID, Ed25519Signer(alice.Key)), api.CodeOplogDeviceMismatch},
		{"unsigned", alice, api.OplogBatch{DeviceID: alice.Login.Device.ID, Events: []api.OplogEvent{ev}}, api.CodeOplogSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.by.UploadOplog(context.Background(), tc.batch)
			var e *api.Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Status != 403 {
				t.Fatalf("err %v, want 403 %s", err, tc.code)
			}
		})
	}
	for _, s := range []*brokertest.Session{alice, mallory} {
		if recs := storedEvents(t, admin, s.Login.Device.ID); len(recs) != 0 {
			t.Fatalf("%d events stored for %s", len(recs), s.User.ID)
		}
	}
}
