package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// oplogDevice builds a device's chain and uploads it like the app does.
type oplogDevice struct {
	s    *brokertest.Session
	seq  int64
	prev [32]byte
	// direct, when set, ingests through the service instead of HTTP
	// (after the test clock outran the session's tokens).
	direct *brokertest.Broker
}

func (d *oplogDevice) upload(t *testing.T, at time.Time, typ string, n int) api.OplogAck {
	t.Helper()
	evs := make([]api.OplogEvent, n)
	for i := range evs {
		d.seq++
		prev := d.prev
		evs[i] = api.OplogEvent{Seq: d.seq, At: at.Add(time.Duration(i) * time.Millisecond).UnixMilli(), Type: typ,
			Fields: map[string]string{"i": strconv.Itoa(i), "terminal": "pc-総務-01"}, Prev: prev[:]}
		d.prev = evs[i].Hash()
	}
	id := d.s.Login.Device.ID
	batch := api.OplogBatch{DeviceID: id, Events: evs, Signature: ed25519.Sign(d.s.Key, api.OplogBatchDigest(id, evs))}
	if d.direct != nil {
		ack, err := d.direct.Services.Oplog.Ingest(context.Background(), id, batch)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	ack, err := d.s.UploadOplog(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	return *ack
}

// TestOplogStaffWritesOwnReadsNone: staff upload their own device's
// events and cannot read any; admins read everyone's.
func TestOplogStaffWritesOwnReadsNone(t *testing.T) {
	b := brokertest.Start(t)
	staff := b.Signin(t, "yamada")
	admin := b.Signin(t, "it", api.RoleAdmin)
	dev := &oplogDevice{s: staff}
	if ack := dev.upload(t, b.Now(), "login.ok", 3); ack.Acked != 3 || ack.Stored != 3 {
		t.Fatalf("ack %+v", ack)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func(c *api.Client) error
	}{
		{"search", func(c *api.Client) error { _, err := c.SearchOplogs(ctx, api.OplogQuery{User: "yamada"}); return err }},
		{"export", func(c *api.Client) error { return c.ExportOplogs(ctx, api.OplogQuery{}, "csv", &bytes.Buffer{}) }},
		{"timeline", func(c *api.Client) error {
			_, err := c.OplogTimeline(ctx, staff.Login.Device.ID, api.OplogQuery{})
			return err
		}},
		{"findings", func(c *api.Client) error { _, err := c.OplogFindings(ctx, "", ""); return err }},
		{"holds", func(c *api.Client) error { _, err := c.OplogHolds(ctx); return err }},
		{"config", func(c *api.Client) error { _, err := c.OplogConfig(ctx); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *api.Error
			if err := tc.call(staff.Client); !errors.As(err, &e) || e.Status != 403 {
				t.Fatalf("staff: %v, want 403", err)
			}
			if err := tc.call(admin.Client); err != nil {
				t.Fatalf("admin: %v", err)
			}
		})
	}
	page, err := admin.SearchOplogs(ctx, api.OplogQuery{Device: staff.Login.Device.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 3 || page.Events[0].Seq != 3 {
		t.Fatalf("admin sees %d events (first seq %d), want 3 newest first", len(page.Events), page.Events[0].Seq)
	}
}

// TestOplogIdempotentRetry: the same batch twice stores nothing new and
// acknowledges the same sequence; a conflicting copy becomes a finding.
func TestOplogIdempotentRetry(t *testing.T) {
	b := brokertest.Start(t)
	staff := b.Signin(t, "yamada")
	admin := b.Signin(t, "it", api.RoleAdmin)
	id := staff.Login.Device.ID
	evs := make([]api.OplogEvent, 10)
	var prev [32]byte
	for i := range evs {
		evs[i] = api.OplogEvent{Seq: int64(i + 1), At: b.Now().UnixMilli(), Type: "slot.requested", Prev: bytes.Clone(prev[:])}
		prev = evs[i].Hash()
	}
	send := func(evs []api.OplogEvent) api.OplogAck {
		ack, err := staff.UploadOplog(context.Background(), api.OplogBatch{DeviceID: id, Events: evs,
			Signature: ed25519.Sign(staff.Key, api.OplogBatchDigest(id, evs))})
		if err != nil {
			t.Fatal(err)
		}
		return *ack
	}
	first := send(evs)
	again := send(evs)
	if first.Stored != 10 || again.Stored != 0 || again.Dupes != 10 || again.Acked != 10 || again.Findings != 0 {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	forged := []api.OplogEvent{evs[3]}
	forged[0].Type = "slot.released"
	if ack := send(forged); ack.Stored != 0 || ack.Findings != 1 {
		t.Fatalf("conflicting copy: %+v", ack)
	}
	fl, err := admin.OplogFindings(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(fl.Findings) != 1 || fl.Findings[0].Kind != api.FindingConflict || fl.Findings[0].Seq != 4 {
		t.Fatalf("findings %+v", fl.Findings)
	}
	page, _ := admin.SearchOplogs(context.Background(), api.OplogQuery{Device: id, Limit: 100})
	if len(page.Events) != 10 {
		t.Fatalf("%d stored, want 10", len(page.Events))
	}
}

// TestOplogAuditEventsChained: the broker's own actions (an admin
// creating a user, concurrent recorders) land in the store as one
// unbroken chain under device "broker".
func TestOplogAuditEventsChained(t *testing.T) {
	b := brokertest.Start(t)
	admin := b.Signin(t, "it", api.RoleAdmin)
	ctx := context.Background()
	if _, err := admin.CreateUser(ctx, api.CreateUserRequest{ID: "kimura", Name: "木村", Department: "税務課",
		Roles: []api.Role{api.RoleStaff}}); err != nil {
		t.Fatal(err)
	}
	rec := b.Services.Audit
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if err := rec.Record(ctx, audit.Event{Actor: "system", Action: "slot.granted", Target: "pc-" + strconv.Itoa(g),
					Fields: map[string]string{"i": strconv.Itoa(i)}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var recs []api.OplogRecord
	q := api.OplogQuery{Device: api.OplogBrokerDevice, Asc: true, Limit: 1000}
	page, err := admin.SearchOplogs(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	recs = page.Events
	var created, grants int
	prev := make([]byte, 32)
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("broker event %d has seq %d", i, r.Seq)
		}
		ev := api.OplogEvent{Seq: r.Seq, At: r.At.UnixMilli(), Type: r.Type, Fields: r.Fields, Prev: r.Prev}
		h := ev.Hash()
		if !bytes.Equal(r.Prev, prev) || !bytes.Equal(h[:], r.Hash) {
			t.Fatalf("broker chain broken at %d", r.Seq)
		}
		prev = r.Hash
		switch {
		case r.Target == "kimura" && r.UserID == "it":
			created++
		case r.Type == "slot.granted":
			grants++
		}
	}
	if created == 0 || grants != 200 {
		t.Fatalf("%d events about creating kimura, %d grants (want >0, 200) in %d events", created, grants, len(recs))
	}
}

// TestOplogRetentionPurgeRespectsHold: past the retention period events
// are purged, except for a user under legal hold; releasing the hold lets
// the next purge take them. Changing retention and holds is audited.
func TestOplogRetentionPurgeRespectsHold(t *testing.T) {
	b := brokertest.Start(t)
	held := &oplogDevice{s: b.Signin(t, "yamada")}
	other := &oplogDevice{s: b.Signin(t, "sato")}
	admin := b.Signin(t, "it", api.RoleAdmin)
	ctx := context.Background()
	old := b.Now()
	held.upload(t, old, "login.ok", 5)
	other.upload(t, old, "login.ok", 5)

	days := 30
	if _, err := admin.SetOplogConfig(ctx, api.OplogConfigUpdate{RetentionDays: &days}); err == nil {
		t.Fatal("retention change without a reason accepted")
	}
	cfg, err := admin.SetOplogConfig(ctx, api.OplogConfigUpdate{RetentionDays: &days, Reason: "条例改正 2026-12"})
	if err != nil || cfg.RetentionDays != 30 {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	if _, err := admin.PlaceOplogHold(ctx, api.OplogHold{Kind: api.HoldUser, Subject: "yamada", Reason: "case 2026-17"}); err != nil {
		t.Fatal(err)
	}
	var e *api.Error
	if _, err := admin.PlaceOplogHold(ctx, api.OplogHold{Kind: api.HoldUser, Subject: "yamada", Reason: "again"}); !errors.As(err, &e) ||
		e.Code != api.CodeOplogHoldExists {
		t.Fatalf("second hold: %v", err)
	}
	assertAudited(t, admin, "oplog.retention_changed", "oplog.hold_placed")
	other.upload(t, old.Add(31*24*time.Hour), "login.ok", 2)
	b.Clock.Advance(31 * 24 * time.Hour)
	admin = b.Login(t, admin.User)
	held.direct = b

	count := func(d *oplogDevice) int {
		page, err := admin.SearchOplogs(ctx, api.OplogQuery{Device: d.s.Login.Device.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	// The broker's own old events (logins, the user's creation) go too.
	if n, err := b.Services.Oplog.Purge(ctx); err != nil || n < 5 {
		t.Fatalf("purged %d (%v), want at least sato's 5 old events", n, err)
	}
	if got := count(held); got != 5 {
		t.Fatalf("held user has %d events, want 5", got)
	}
	if got := count(other); got != 2 {
		t.Fatalf("sato has %d events, want the 2 recent ones", got)
	}
	if err := admin.ReleaseOplogHold(ctx, api.HoldUser, "yamada"); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Services.Oplog.Purge(ctx); err != nil || n < 5 {
		t.Fatalf("after release purged %d (%v)", n, err)
	}
	if got := count(held); got != 0 {
		t.Fatalf("released user has %d events, want 0", got)
	}
	// The chain continues after a purge: the device's next upload is not
	// a finding.
	if ack := held.upload(t, b.Now(), "login.ok", 1); ack.Findings != 0 || ack.Acked != 6 {
		t.Fatalf("after purge: %+v", ack)
	}
	assertAudited(t, admin, "oplog.hold_released", "oplog.purged")
}

// assertAudited checks that the broker's own log holds these actions.
func assertAudited(t *testing.T, admin *brokertest.Session, actions ...string) {
	t.Helper()
	page, err := admin.SearchOplogs(context.Background(), api.OplogQuery{Device: api.OplogBrokerDevice, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range page.Events {
		seen[r.Type] = true
	}
	for _, a := range actions {
		if !seen[a] {
			t.Errorf("no %s audit event", a)
		}
	}
}

// TestOplogSearchPagesAndExport: keyset pages cover a search exactly;
// CSV (with BOM, Japanese intact) and JSON Lines exports stream it all.
func TestOplogSearchPagesAndExport(t *testing.T) {
	b := brokertest.Start(t)
	dev := &oplogDevice{s: b.Signin(t, "yamada")}
	other := &oplogDevice{s: b.Signin(t, "sato")}
	admin := b.Signin(t, "it", api.RoleAdmin)
	ctx := context.Background()
	day := b.Now()
	dev.upload(t, day, "tunnel.open", 250)
	dev.upload(t, day.Add(48*time.Hour), "tunnel.close", 10)
	other.upload(t, day, "tunnel.open", 7)

	q := api.OplogQuery{Device: dev.s.Login.Device.ID, From: day, To: day.Add(24 * time.Hour), Limit: 100}
	seen := map[int64]bool{}
	pages := 0
	for {
		page, err := admin.SearchOplogs(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range page.Events {
			if seen[r.ID] {
				t.Fatalf("event %d on two pages", r.ID)
			}
			seen[r.ID] = true
			if r.Type != "tunnel.open" || r.UserID != "yamada" {
				t.Fatalf("filter leaked %+v", r)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if len(seen) != 250 || pages != 3 {
		t.Fatalf("%d events on %d pages, want 250 on 3", len(seen), pages)
	}
	if _, err := admin.SearchOplogs(ctx, api.OplogQuery{Cursor: "not-a-cursor"}); !isCode(err, api.CodeOplogCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	if page, err := admin.SearchOplogs(ctx, api.OplogQuery{Department: "総務課", Type: "tunnel.close"}); err != nil || len(page.Events) != 10 {
		t.Fatalf("by department and type: %v", err)
	}
	// By user, the broker's own events about the user come too.
	byUser, err := admin.SearchOplogs(ctx, api.OplogQuery{User: "yamada", Type: "auth.login_ok"})
	if err != nil || len(byUser.Events) == 0 || byUser.Events[0].DeviceID != api.OplogBrokerDevice {
		t.Fatalf("by user: %+v, %v", byUser, err)
	}

	var csvOut bytes.Buffer
	if err := admin.ExportOplogs(ctx, api.OplogQuery{Device: dev.s.Login.Device.ID}, "csv", &csvOut); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(csvOut.Bytes(), []byte("\xEF\xBB\xBF")) {
		t.Fatal("CSV export lacks the UTF-8 BOM Excel needs")
	}
	rows, err := csv.NewReader(bytes.NewReader(csvOut.Bytes()[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 261 || rows[0][0] != "日時 (JST)" || rows[0][1] != "職員番号" || rows[1][2] != "総務課" || !strings.Contains(rows[1][7], "terminal=pc-総務-01") {
		t.Fatalf("CSV: %d rows, first %v", len(rows), rows[:min(2, len(rows))])
	}
	// English headers and UTC on request: the same instant, nine hours apart.
	var enOut bytes.Buffer
	if err := admin.ExportOplogsIn(ctx, api.OplogQuery{Device: dev.s.Login.Device.ID}, "csv", "en", "UTC", &enOut); err != nil {
		t.Fatal(err)
	}
	en, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(enOut.Bytes(), []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	jstAt, err1 := time.ParseInLocation("2006-01-02 15:04:05.000", rows[1][0], time.FixedZone("JST", 9*3600))
	utcAt, err2 := time.ParseInLocation("2006-01-02 15:04:05.000", en[1][0], time.UTC)
	if len(en) != 261 || en[0][0] != "Time (UTC)" || en[0][1] != "Staff ID" || en[0][9] != "Received (UTC)" ||
		err1 != nil || err2 != nil || !jstAt.Equal(utcAt) || rows[1][0] == en[1][0] {
		t.Fatalf("English/UTC CSV: %v then %v; JST %q, UTC %q", en[0], en[1], rows[1][0], en[1][0])
	}
	if err := admin.ExportOplogsIn(ctx, api.OplogQuery{}, "csv", "fr", "", &bytes.Buffer{}); !isCode(err, api.CodeValidation) {
		t.Fatalf("unknown language: %v", err)
	}
	var jl bytes.Buffer
	if err := admin.ExportOplogs(ctx, api.OplogQuery{}, "jsonl", &jl); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&jl)
	n := 0
	for sc.Scan() {
		var r api.OplogRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
	}
	if n < 267 { // device events, plus the broker's own
		t.Fatalf("JSON Lines export has %d lines, want at least 267", n)
	}
	if err := admin.ExportOplogs(ctx, api.OplogQuery{}, "xlsx", &bytes.Buffer{}); !isCode(err, api.CodeOplogFormat) {
		t.Fatalf("unknown format: %v", err)
	}
	tl, err := admin.OplogTimeline(ctx, dev.s.Login.Device.ID, api.OplogQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Events) != 260 || tl.Events[0].Seq != 1 || tl.Events[259].Seq != 260 || tl.Device.UserID != "yamada" {
		t.Fatalf("timeline: %d events, device %+v", len(tl.Events), tl.Device)
	}
}

func isCode(err error, c api.Code) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Code == c
}
