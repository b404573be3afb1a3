package dbcopy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/broker/cli"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/events"
	"github.com/zaitaku/zaitaku/broker/meet"
	"github.com/zaitaku/zaitaku/broker/oplog"
	"github.com/zaitaku/zaitaku/broker/release"
	"github.com/zaitaku/zaitaku/broker/roster"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
	"github.com/zaitaku/zaitaku/broker/telework"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Sizes of the populated installation: enough rows that the copy's time
// means something, few enough for the e2e phase.
const (
	oplogRows    = 50_000
	chatMessages = 5_000
)

// populate fills every table of a SQLite installation: the demo seeders
// (staff, office PCs) through the services, the rest through the stores
// as the domains write them.
func populate(t *testing.T, path string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil, sqlite.Options{})
	must(t, err)
	defer st.Close()
	svc, err := services.Build(ctx, services.Config{Stores: st, Argon2: auth.TestArgon2, SecretKey: bytes.Repeat([]byte{7}, 32)})
	must(t, err)
	defer svc.Close()
	must(t, daemon.SeedDemo(ctx, svc, nil))
	must(t, st.CheckWritable(ctx))

	a := st.Auth()
	must(t, a.CreateDevice(ctx, api.Device{ID: "dev_y", UserID: "yamada", Name: "貸与PC", OS: "windows 11",
		PublicKey: bytes.Repeat([]byte{1}, 32), Status: api.DeviceActive, CreatedAt: t0}))
	must(t, a.CreateSession(ctx, auth.Session{ID: "sess_y", UserID: "yamada", DeviceID: "dev_y", Scope: auth.ScopeFull,
		AccessHash: bytes.Repeat([]byte{2}, 32), AccessExpires: t0.Add(time.Hour), RefreshHash: bytes.Repeat([]byte{3}, 32),
		RefreshExpires: t0.Add(720 * time.Hour), CreatedAt: t0}))
	s2 := auth.Session{AccessHash: bytes.Repeat([]byte{4}, 32), AccessExpires: t0.Add(2 * time.Hour),
		RefreshHash: bytes.Repeat([]byte{5}, 32), RefreshExpires: t0.Add(720 * time.Hour)}
	must(t, a.RotateSession(ctx, "sess_y", bytes.Repeat([]byte{3}, 32), s2))
	must(t, a.PutAttempts(ctx, auth.Attempts{StaffID: "sato", Failures: 2, WindowStart: t0}))
	must(t, a.PutSetting(ctx, "copy.test", "設定値", t0))

	rows := make([]oplog.Row, oplogRows)
	for i := range rows {
		h := sha256.Sum256([]byte(fmt.Sprint(i)))
		rows[i] = oplog.Row{DeviceID: fmt.Sprintf("dev_%d", i%50), Seq: int64(i/50 + 1), At: t0.UnixMilli() + int64(i)*1000,
			UserID: "yamada", Department: "総務課", Type: "rdp.connect", Target: "pc-1", Fields: `{"画面":"接続"}`,
			Prev: make([]byte, 32), Hash: h[:], ReceivedAt: t0.UnixMilli()}
	}
	n, err := st.Oplog().(*sqlite.Oplog).BulkInsert(ctx, rows)
	must(t, err)
	if n != oplogRows {
		t.Fatalf("bulk insert: %d rows", n)
	}
	must(t, st.Oplog().InTx(ctx, func(tx oplog.Tx) error {
		if err := tx.AddFindings(ctx, []api.OplogFinding{{DeviceID: "dev_1", UserID: "yamada", Seq: 7, Kind: "gap", Detail: "6 が欠落", At: t0}}); err != nil {
			return err
		}
		return tx.SetTip(ctx, "dev_1", oplog.Tip{Seq: 1000, Hash: bytes.Repeat([]byte{9}, 32)}, t0.UnixMilli())
	}))
	must(t, st.Oplog().PutHold(ctx, api.OplogHold{Kind: "user", Subject: "sato", Reason: "監査請求", CreatedBy: "it", CreatedAt: t0}))

	must(t, st.Events().AppendEvents(ctx, []events.Stored{{UserID: "yamada", Event: api.Event{Seq: 1, Type: api.EventGranted, At: t0, Data: []byte(`{"a":1}`)}}}))

	live := slots.Record{ID: "slot_live", UserID: "yamada", State: api.SlotQueued, QueueSeq: 2, RequestedAt: t0, LeaseUntil: t0.Add(time.Minute), LastActiveAt: t0}
	done := slots.Record{ID: "slot_done", UserID: "sato", State: api.SlotGranted, QueueSeq: 1, TerminalID: "pc-sato", RequestedAt: t0, GrantedAt: t0, LeaseUntil: t0.Add(time.Minute), LastActiveAt: t0}
	cfg := api.SlotConfig{Cap: 300, IdleMinutes: 30, MaxMinutes: 600, WarnMinutes: 5, UpdatedAt: t0, UpdatedBy: "it"}
	bcp := api.BCP{Active: true, Cap: 500, Roles: []api.Role{api.RoleSupervisor}, Departments: []string{"福祉課"}, Reason: "台風", Since: t0, UpdatedAt: t0, UpdatedBy: "it"}
	must(t, st.Slots().ApplySlots(ctx, []slots.Op{{Config: &cfg}, {BCP: &bcp}, {Put: &live}, {Put: &done},
		{End: &slots.Ended{Record: done, EndedAt: t0.Add(time.Hour), Reason: "user"}}}))
	must(t, st.Slots().AddEndRequest(ctx, slots.EndRequest{SlotID: "slot_live", Actor: "it", Reason: "端末紛失", At: t0}))

	c := st.Chat()
	must(t, c.CreateChannel(ctx, chat.Channel{ID: "g1", Kind: api.ChatGroup, Name: "窓口班", CreatedBy: "yamada", CreatedAt: t0}, []string{"yamada", "sato"}))
	for i := range chatMessages {
		_, _, err := c.Append(ctx, api.ChatMessage{Channel: "g1", Kind: api.ChatKindMessage, Sender: "yamada", Key: fmt.Sprint("k", i),
			Text: fmt.Sprintf("午後は窓口をお願いします %d", i), At: t0.Add(time.Duration(i) * time.Second)})
		must(t, err)
	}
	_, _, err = c.Append(ctx, api.ChatMessage{Channel: "g1", Kind: api.ChatKindEdit, Sender: "yamada", Key: "edit1", Text: "午前に変更", Target: 1, At: t0.Add(2 * time.Hour)})
	must(t, err)
	_, err = c.MarkRead(ctx, "g1", "sato", 10)
	must(t, err)
	must(t, c.SetStatus(ctx, "yamada", "午後は窓口", t0))
	must(t, c.PutChatPolicy(ctx, api.ChatPolicy{RetentionDays: 365}))

	r := st.Releases()
	must(t, r.AddKeyList(ctx, release.KeyListRecord{Serial: 1, Body: []byte(`{"keys":[]}`), Signature: "sig", AddedAt: t0}))
	body := bytes.Repeat([]byte("zaitaku"), 400_000) // 2.8 MB: three chunks
	must(t, r.AddRelease(ctx, release.Record{Release: api.Release{ID: "rel_1", Version: "1.0.0", OS: "windows", Arch: "amd64",
		Channel: "stable", Size: int64(len(body)), SHA256: strings.Repeat("ab", 32), KeyID: "K", Rollout: 100, PublishedAt: t0,
		PublishedBy: "cli:it"}, Signature: "sig"}, bytes.NewReader(body)))
	must(t, r.PutChannel(ctx, release.Channel{Name: "stable", Pin: "1.0.0", UpdatedAt: t0}))
	must(t, r.PutSigner(ctx, release.SignerRecord{PublicKey: "RW", Sealed: []byte{1, 2, 3}, CreatedAt: t0}))
	must(t, r.PutManifest(ctx, release.ManifestRecord{Channel: "stable", OS: "windows", Arch: "amd64", Body: []byte("{}"), Signature: "s", Expires: t0}))

	must(t, st.Roster().Update(ctx, func(tx roster.Tx) error {
		return tx.CreateImport(ctx, roster.Import{ID: "imp_1", Actor: "it", FileName: "名簿.csv", Encoding: "shift_jis",
			CSV: "職員番号,氏名,所属\n", Effective: "2026-04-01", EffectiveAt: t0, Status: api.RosterPending, CreatedAt: t0})
	}))

	tw := st.Telework()
	must(t, tw.CreateRequest(ctx, api.TeleworkRequest{ID: "tw1", UserID: "yamada", Department: "総務課", Kind: api.TeleworkDates,
		From: "2026-04-02", To: "2026-04-02", Dates: []string{"2026-04-02"}, Reason: api.ReasonChildcare, State: api.RequestPending, CreatedAt: t0}))
	must(t, tw.PutPolicy(ctx, api.TeleworkPolicy{Department: "総務課", Mode: api.TeleworkApproval, UpdatedAt: t0, UpdatedBy: "it"}))
	must(t, tw.PutHoliday(ctx, api.Holiday{Date: "2026-05-05", Name: "こどもの日", Kind: "national"}))
	must(t, tw.SetApprovers(ctx, "総務課", []string{"tanaka"}))
	must(t, tw.PutStandIn(ctx, telework.StandIn{Approver: "tanaka", StandIn: "admin", From: "2026-04-01", To: "2026-04-30"}))
	must(t, st.Meetings().CreateMeeting(ctx, api.Meeting{ID: "mtg_1", Title: "課内定例", StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour),
		Department: "総務課", CreatedBy: "yamada", CreatedAt: t0, Invitees: []string{"sato"}}))
	_, err = st.Terminals().PutSatelliteOffice(ctx, api.SatelliteOffice{ID: "kita", Name: "北サテライト", Ranges: []string{"192.0.2.0/28"}, CreatedAt: t0, UpdatedAt: t0})
	must(t, err)
	_, err = st.Jobs().ClaimRun(ctx, "oplog.purge", "broker-1", t0, t0.Add(-6*time.Hour))
	must(t, err)
	must(t, tw.PutDay(ctx, telework.Day{UserID: "yamada", Date: "2026-04-01", Place: "自宅", Start: t0, End: t0.Add(8 * time.Hour)}))
	must(t, st.Meet().PutRoomHost(ctx, meet.RoomHost{ID: "room1", Broker: "https://broker1:8443", Title: "定例会議", CreatedBy: "yamada", CreatedAt: t0, SeenAt: t0}))
	// One broker serves SQLite and writes no bus payloads; a row by hand
	// so that the table's copy is tested all the same.
	must(t, st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bus_payloads (at, data) VALUES (?, ?)`, t0.UnixMilli(), `[{"k":"snap","b":"x"}]`)
		return err
	}))
}

// TestE2ECopySQLiteToPostgres moves a populated SQLite installation into
// a new PostgreSQL database with `broker admin db copy`: every table has
// rows, and comes over with equal counts and checksums; the copied
// database then serves the same answers (Japanese chat search included)
// and goes on numbering where SQLite stopped. A second copy into the
// now full database is refused and changes nothing.
func TestE2ECopySQLiteToPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "zaitaku.db")
	populate(t, path)
	url := srv.NewDatabase(t)

	var out, errb bytes.Buffer
	start := time.Now()
	code := cli.Main([]string{"admin", "db", "copy", "--from", "sqlite:" + path, "--to", url}, func(string) string { return "" }, &out, &errb)
	elapsed := time.Since(start)
	if code != 0 {
		t.Fatalf("db copy: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	t.Logf("db copy took %s:\n%s", elapsed.Round(time.Millisecond), out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	tables := 0
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 5 {
			continue
		}
		tables++
		if f[1] == "0" {
			t.Errorf("table %s has no rows in the populated installation: populate it, or the copy of its rows goes untested", f[0])
		}
		if f[1] != f[2] || f[4] != "yes" {
			t.Errorf("table %s: %s", f[0], l)
		}
	}
	if tables < 30 || !strings.Contains(out.String(), "counts and checksums match") {
		t.Fatalf("db copy reported %d tables:\n%s", tables, out.String())
	}

	src, err := sqlite.Open(ctx, path, nil, sqlite.Options{})
	must(t, err)
	defer src.Close()
	dst, err := postgres.Open(ctx, url, nil, postgres.Options{})
	must(t, err)
	defer dst.Close()
	for _, e := range []services.Stores{src, dst} {
		u, err := e.Auth().GetUser(ctx, "yamada")
		must(t, err)
		if u.Name != "山田 花子" || u.PasswordHash == "" || len(u.TOTPSecret) == 0 {
			t.Errorf("yamada: %+v", u)
		}
	}
	want, _, err := src.Chat().Search(ctx, chat.SearchQuery{Channels: []string{"g1"}, Text: "窓口を", Limit: 20})
	must(t, err)
	got, _, err := dst.Chat().Search(ctx, chat.SearchQuery{Channels: []string{"g1"}, Text: "窓口を", Limit: 20})
	must(t, err)
	if len(got) != 20 || len(want) != 20 || got[0].Seq != want[0].Seq || got[19].Seq != want[19].Seq {
		t.Errorf("search 窓口を: PostgreSQL %d results, SQLite %d", len(got), len(want))
	}
	m, _, err := dst.Chat().Append(ctx, api.ChatMessage{Channel: "g1", Kind: api.ChatKindMessage, Sender: "sato", Key: "after-copy", Text: "了解", At: t0})
	must(t, err)
	if m.Seq != chatMessages+2 {
		t.Errorf("first message after the copy: seq %d, want %d", m.Seq, chatMessages+2)
	}
	wantRows, err := src.Oplog().Search(ctx, oplog.Query{User: "yamada", Limit: 3})
	must(t, err)
	rows, err := dst.Oplog().Search(ctx, oplog.Query{User: "yamada", Limit: 3})
	must(t, err)
	if len(rows) != 3 || rows[0].ID != wantRows[0].ID || rows[2].ID != wantRows[2].ID {
		t.Errorf("newest oplog rows after the copy: IDs %d..%d, SQLite's %d..%d", rows[0].ID, rows[len(rows)-1].ID, wantRows[0].ID, wantRows[2].ID)
	}
	must(t, dst.Oplog().InTx(ctx, func(tx oplog.Tx) error {
		_, err := tx.Insert(ctx, []oplog.Row{{DeviceID: "dev_new", Seq: 1, At: t0.UnixMilli(), Type: "x", Prev: make([]byte, 32), Hash: make([]byte, 32)}})
		return err
	}))
	body, err := dst.Releases().OpenRelease(ctx, "rel_1")
	must(t, err)
	var buf bytes.Buffer
	_, err = buf.ReadFrom(body)
	must(t, err)
	if buf.Len() != 2_800_000 {
		t.Errorf("release body after the copy: %d bytes", buf.Len())
	}

	out.Reset()
	errb.Reset()
	code = cli.Main([]string{"admin", "db", "copy", "--from", "sqlite:" + path, "--to", url}, func(string) string { return "" }, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "already has rows") {
		t.Errorf("second copy: exit %d, %s", code, errb.String())
	}
	if _, err := dst.Chat().Message(ctx, "g1", chatMessages+2); err != nil {
		t.Errorf("the refused copy changed the target: %v", err)
	}
}

// TestE2EDBMigrate: `broker admin db migrate` brings a new PostgreSQL
// database and a new SQLite file to this broker's schema, the same
// migrations on both, and says so; run again, it changes nothing.
func TestE2EDBMigrate(t *testing.T) {
	srv := pgtest.Shared(t)
	url := srv.NewDatabase(t)
	data := t.TempDir()
	var lists []string
	for _, db := range []string{url, "sqlite:" + filepath.Join(data, "zaitaku.db"), url} {
		var out, errb bytes.Buffer
		code := cli.Main([]string{"admin", "db", "migrate", "-data", data, "-db", db}, func(string) string { return "" }, &out, &errb)
		if code != 0 || !strings.Contains(out.String(), "schema up to date") {
			t.Fatalf("db migrate -db %s: exit %d\n%s%s", db, code, out.String(), errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		lists = append(lists, strings.Join(lines[:len(lines)-1], "\n"))
	}
	if lists[0] != lists[1] || lists[0] != lists[2] || !strings.Contains(lists[0], "0200_meetings.sql") {
		t.Errorf("migrations differ between engines or runs:\n%s\n--\n%s\n--\n%s", lists[0], lists[1], lists[2])
	}
}
