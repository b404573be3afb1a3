package oplog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
)

// The crash test re-runs this test binary as a writer process.
const helperEnv = "ZAITAKU_OPLOG_WRITER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(writerProcess(dir))
	}
	os.Exit(m.Run())
}

// writerProcess records events as fast as it can and prints the
// sequence of each one Record returned for, until it is killed.
func writerProcess(dir string) int {
	j, err := Open(dir, Options{SegmentBytes: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	pad := strings.Repeat("x", 700) // larger writes: more chance to be cut mid-way
	for i := 0; ; i++ {
		if err := j.Record("test.tick", map[string]string{"i": strconv.Itoa(i), "pad": pad}); err != nil {
			fmt.Fprintln(os.Stderr, "record:", err)
			return 1
		}
		fmt.Fprintf(os.Stdout, "ok %d\n", j.Status().LastSeq)
	}
}

// verifyChain checks that events run 1.. (or from+1..) without holes and
// that each links to the one before.
func verifyChain(t *testing.T, evs []api.OplogEvent, from int64, fromHash []byte) {
	t.Helper()
	prev := fromHash
	if from == 0 {
		prev = make([]byte, 32)
	}
	for i, ev := range evs {
		if ev.Seq != from+int64(i)+1 {
			t.Fatalf("event %d has seq %d, want %d", i, ev.Seq, from+int64(i)+1)
		}
		if !bytes.Equal(ev.Prev, prev) {
			t.Fatalf("event %d: prev does not match the hash of event %d", ev.Seq, ev.Seq-1)
		}
		h := ev.Hash()
		prev = h[:]
	}
}

func openT(t *testing.T, dir string, opt Options) *Journal {
	t.Helper()
	j, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func pendingAll(t *testing.T, j *Journal) []api.OplogEvent {
	t.Helper()
	evs, err := j.Pending(1<<30, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestJournalRecordReopenKeepsChain(t *testing.T) {
	dir := t.TempDir()
	j := openT(t, dir, Options{SegmentBytes: 2 << 10})
	for i := range 100 {
		if err := j.Record("test.event", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	j = openT(t, dir, Options{SegmentBytes: 2 << 10})
	defer j.Close()
	if p := j.Problems(); len(p) > 0 {
		t.Fatalf("problems after a clean reopen: %v", p)
	}
	if err := j.Record("test.after", nil); err != nil {
		t.Fatal(err)
	}
	evs := pendingAll(t, j)
	if len(evs) != 101 {
		t.Fatalf("%d events, want 101", len(evs))
	}
	verifyChain(t, evs, 0, nil)
	if segs, _ := listSegments(dir); len(segs) < 3 {
		t.Fatalf("%d segments: rotation did not happen", len(segs))
	}
}

func TestJournalConcurrentRecordsShareFsyncAndChain(t *testing.T) {
	j := openT(t, t.TempDir(), Options{})
	defer j.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if err := j.Record("test.event", map[string]string{"g": strconv.Itoa(g), "i": strconv.Itoa(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	evs := pendingAll(t, j)
	if len(evs) != 800 {
		t.Fatalf("%d events, want 800", len(evs))
	}
	verifyChain(t, evs, 0, nil)
	if got := j.synced.Load(); got != 800 {
		t.Fatalf("synced %d frames, want all 800 covered", got)
	}
}

// TestJournalSurvivesCrash kills a writer process with SIGKILL while it
// records, several times over the same journal: every event the writer
// was told is recorded is still there, the chain is intact, and the next
// writer continues it.
func TestJournalSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	lastOK := int64(0)
	for round, after := range []int64{300, 1100, 2500} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		killed := false
		for sc.Scan() {
			seq, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "ok "), 10, 64)
			if err != nil {
				t.Fatalf("writer said %q", sc.Text())
			}
			lastOK = seq
			if seq >= after && !killed {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		_ = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: writer stopped by itself at %d: %s", round, lastOK, stderr.String())
		}
		j := openT(t, dir, Options{SegmentBytes: 64 << 10})
		if p := j.Problems(); len(p) > 0 {
			t.Fatalf("round %d: a crash must not look like damage: %v", round, p)
		}
		evs := pendingAll(t, j)
		verifyChain(t, evs, 0, nil)
		if got := int64(len(evs)); got < lastOK {
			t.Fatalf("round %d: %d events on disk, but the writer was told %d were recorded", round, got, lastOK)
		}
		t.Logf("round %d: killed after %d acknowledged; %d on disk", round, lastOK, len(evs))
		j.Close()
	}
}

// TestJournalCutsTornEventAfterCrash: a crash (or power loss) in the
// middle of a write leaves part of the last frame; Open removes just
// that, and the next event follows the last complete one.
func TestJournalCutsTornEventAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(frame []byte) []byte
	}{
		{"header only", func(f []byte) []byte { return f[:5] }},
		{"half the payload", func(f []byte) []byte { return f[:len(f)/2] }},
		{"zeros after power loss", func(f []byte) []byte { return make([]byte, len(f)) }},
		{"garbage of full length", func(f []byte) []byte { g := bytes.Clone(f); g[len(g)-3] ^= 0xff; return g }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j := openT(t, dir, Options{})
			for i := range 5 {
				if err := j.Record("test.event", map[string]string{"i": strconv.Itoa(i)}); err != nil {
					t.Fatal(err)
				}
			}
			seg := j.segs[len(j.segs)-1].path
			j.Close()
			frame, _ := encodeFrame(&api.OplogEvent{Seq: 6, At: 1, Type: "test.torn", Prev: make([]byte, 32)})
			appendFile(t, seg, tc.tear(frame))
			j = openT(t, dir, Options{})
			defer j.Close()
			if p := j.Problems(); len(p) > 0 {
				t.Fatalf("a torn last event is not damage: %v", p)
			}
			if err := j.Record("test.next", nil); err != nil {
				t.Fatal(err)
			}
			evs := pendingAll(t, j)
			if len(evs) != 6 || evs[5].Type != "test.next" {
				t.Fatalf("got %d events, last %q; want 6 ending in test.next", len(evs), evs[len(evs)-1].Type)
			}
			verifyChain(t, evs, 0, nil)
		})
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// readFrames splits a segment into its frames.
func readFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(data) > 0 {
		n := int(binary.BigEndian.Uint32(data[:4]))
		out = append(out, data[:frameHeader+n])
		data = data[frameHeader+n:]
	}
	return out
}

func writeFrames(t *testing.T, path string, frames [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(frames, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tamperJournal applies edit to the frames of a 10-event journal.
func tamperJournal(t *testing.T, dir string, edit func(t *testing.T, frames [][]byte) [][]byte) {
	t.Helper()
	j := openT(t, dir, Options{})
	for i := range 10 {
		if err := j.Record("login.ok", map[string]string{"user": "yamada", "i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	seg := j.segs[len(j.segs)-1].path
	j.Close()
	writeFrames(t, seg, edit(t, readFrames(t, seg)))
}

// reframe re-encodes an edited event with a valid checksum, as someone
// who knows the format would.
func reframe(t *testing.T, frame []byte, edit func(*api.OplogEvent)) []byte {
	t.Helper()
	var ev api.OplogEvent
	if err := json.Unmarshal(frame[frameHeader:], &ev); err != nil {
		t.Fatal(err)
	}
	edit(&ev)
	out, err := encodeFrame(&ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tamperCases are shared with the broker-side test in upload_test.go.
var tamperCases = []struct {
	name  string
	edit  func(t *testing.T, frames [][]byte) [][]byte
	local string // what Open reports
}{
	{"edited", func(t *testing.T, fr [][]byte) [][]byte {
		fr[4] = reframe(t, fr[4], func(e *api.OplogEvent) { e.Fields["user"] = "sato" })
		return fr
	}, "edited"},
	{"removed", func(t *testing.T, fr [][]byte) [][]byte {
		return append(fr[:4:4], fr[5:]...)
	}, "missing"},
	{"reordered", func(t *testing.T, fr [][]byte) [][]byte {
		fr[4], fr[5] = fr[5], fr[4]
		return fr
	}, "reordered"},
}

func TestJournalTamperDetected(t *testing.T) {
	cases := append(tamperCases[:len(tamperCases):len(tamperCases)], struct {
		name  string
		edit  func(t *testing.T, frames [][]byte) [][]byte
		local string
	}{"bytes flipped", func(t *testing.T, fr [][]byte) [][]byte {
		fr[3] = bytes.Clone(fr[3])
		fr[3][frameHeader+10] ^= 0x20
		return fr
	}, "damaged"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tamperJournal(t, dir, tc.edit)
			j := openT(t, dir, Options{})
			defer j.Close()
			p := strings.Join(j.Problems(), "; ")
			if !strings.Contains(p, tc.local) {
				t.Fatalf("problems %q do not report %q", p, tc.local)
			}
			evs := pendingAll(t, j)
			last := evs[len(evs)-1]
			if last.Type != "oplog.damaged" || !strings.Contains(last.Fields["first"], tc.local) {
				t.Fatalf("last event %s %v; want oplog.damaged naming %q", last.Type, last.Fields, tc.local)
			}
		})
	}
}

func TestRecordRedactsSecrets(t *testing.T) {
	j := openT(t, t.TempDir(), Options{})
	defer j.Close()
	for _, tc := range []struct {
		name       string
		fields     map[string]string
		kept, gone []string
	}{
		{"password", map[string]string{"user": "yamada", "password": "Kumo-Hashi-93"}, []string{"user"}, []string{"password"}},
		{"tokens", map[string]string{"access_token": "abc", "RefreshToken": "def", "terminal": "pc-1"}, []string{"terminal"}, []string{"access_token", "RefreshToken"}},
		{"otp and secret", map[string]string{"otp": "123456", "totp_secret": "JBSW"}, nil, []string{"otp", "totp_secret"}},
		{"chat text", map[string]string{"channel": "general", "text": "秘密の会議", "bytes": "12"}, []string{"channel", "bytes"}, []string{"text"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := j.Record("test.redact", tc.fields); err != nil {
				t.Fatal(err)
			}
			evs := pendingAll(t, j)
			got := evs[len(evs)-1].Fields
			for _, k := range tc.kept {
				if got[k] != tc.fields[k] {
					t.Errorf("%s = %q, want it kept", k, got[k])
				}
			}
			for _, k := range tc.gone {
				if got[k] != "[redacted]" {
					t.Errorf("%s = %q, want [redacted]", k, got[k])
				}
			}
		})
	}
}

// TestJournalBoundWarnsThenRefuses: offline for long, the journal warns
// before its bound, then refuses (never drops) new events; uploading
// frees space.
func TestJournalBoundWarnsThenRefuses(t *testing.T) {
	j := openT(t, t.TempDir(), Options{MaxBytes: 8 << 10, SegmentBytes: 1 << 10})
	defer j.Close()
	warnedAt := int64(0)
	var err error
	for i := 0; i < 1000; i++ {
		if err = j.Record("test.event", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			break
		}
		if warnedAt == 0 && j.Status().Warning != "" {
			warnedAt = j.Status().LastSeq
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("err %v, want ErrFull", err)
	}
	st := j.Status()
	if !st.Full || !st.NearFull || st.FillPercent < 100 {
		t.Fatalf("status at the bound: %+v", st)
	}
	if warnedAt == 0 || warnedAt >= st.LastSeq {
		t.Fatalf("warning at %d, full at %d: want a warning well before", warnedAt, st.LastSeq)
	}
	evs := pendingAll(t, j)
	if int64(len(evs)) != st.LastSeq {
		t.Fatalf("%d events kept, %d recorded: something was dropped", len(evs), st.LastSeq)
	}
	last := evs[len(evs)-1]
	if err := j.Ack(last.Seq, last.Hash()); err != nil {
		t.Fatal(err)
	}
	if w := j.Status().Warning; w != "" {
		t.Fatalf("still warning after upload: %s", w)
	}
	if err := j.Record("test.after", nil); err != nil {
		t.Fatalf("after upload: %v", err)
	}
}

// TestJournalAckDeletesOnlyAcknowledged: segments go once every event in
// them is acknowledged; the chain continues across a reopen even when
// every segment was deleted.
func TestJournalAckDeletesOnlyAcknowledged(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 1 << 10}
	j := openT(t, dir, opt)
	for i := range 100 {
		if err := j.Record("test.event", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	evs := pendingAll(t, j)
	if err := j.Ack(50, evs[49].Hash()); err != nil {
		t.Fatal(err)
	}
	rest := pendingAll(t, j)
	if len(rest) != 50 || rest[0].Seq != 51 {
		t.Fatalf("after ack 50: %d pending from %d", len(rest), rest[0].Seq)
	}
	verifyChain(t, rest, 50, func() []byte { h := evs[49].Hash(); return h[:] }())
	if err := j.Ack(100, evs[99].Hash()); err != nil {
		t.Fatal(err)
	}
	if err := j.Ack(101, evs[99].Hash()); err == nil {
		t.Fatal("ack beyond the last event accepted")
	}
	j.Close()
	segs, _ := listSegments(dir)
	if len(segs) != 1 {
		t.Fatalf("%d segments left, want only the active one", len(segs))
	}
	j = openT(t, dir, opt)
	defer j.Close()
	if err := j.Record("test.after", nil); err != nil {
		t.Fatal(err)
	}
	rest = pendingAll(t, j)
	h100 := evs[99].Hash()
	if len(rest) != 1 {
		t.Fatalf("%d pending, want 1", len(rest))
	}
	verifyChain(t, rest, 100, h100[:])
}

// TestJournalOddFieldsKeepChain: invalid UTF-8 and over-long values are
// made valid before hashing, so the journal reads back as written; what
// the broker would refuse is refused here, before anything is written.
func TestJournalOddFieldsKeepChain(t *testing.T) {
	dir := t.TempDir()
	j := openT(t, dir, Options{})
	long := strings.Repeat("在宅勤務", 200) // 2,400 bytes, cut on a character boundary
	if err := j.Record("error", map[string]string{"raw": "bad\xff\xfebytes", "long": long, "\xffkey": "v"}); err != nil {
		t.Fatal(err)
	}
	tooMany := map[string]string{}
	for i := range 40 {
		tooMany["k"+strconv.Itoa(i)] = "v"
	}
	for name, f := range map[string]map[string]string{
		"too many fields": tooMany,
		"long field name": {strings.Repeat("k", 65): "v"},
	} {
		if err := j.Record("error", f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	j.Close()
	j = openT(t, dir, Options{})
	defer j.Close()
	if p := j.Problems(); len(p) > 0 {
		t.Fatalf("problems: %v", p)
	}
	evs := pendingAll(t, j)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1 (refused ones must leave nothing)", len(evs))
	}
	verifyChain(t, evs, 0, nil)
	if got := evs[0].Fields["long"]; len(got) > 1024 || !strings.HasPrefix(long, got) {
		t.Fatalf("long value kept as %d bytes", len(got))
	}
}

// TestJournalLockedByAnotherApp: a second app on the same journal is
// refused while the first has it open (a killed one releases it, as
// TestJournalSurvivesCrash shows).
func TestJournalLockedByAnotherApp(t *testing.T) {
	dir := t.TempDir()
	j := openT(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	j.Close()
	j = openT(t, dir, Options{})
	j.Close()
}
