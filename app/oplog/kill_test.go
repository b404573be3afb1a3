package oplog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
)

const killSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// TestIngestIdempotentAfterBrokerKill runs the real broker binary and
// kills it with SIGKILL twice while the uploader sends batches. After
// each restart the uploader re-sends what was not acknowledged, and in
// the end the database holds each event exactly once.
func TestIngestIdempotentAfterBrokerKill(t *testing.T) {
	p := brokertest.StartProcess(t, func(b *daemon.Broker) {
		ctx := context.Background()
		a := b.Services.Auth
		if _, err := a.CreateUser(ctx, "test", api.CreateUserRequest{ID: "yamada", Name: "山田 花子", Department: "総務課",
			Roles: []api.Role{api.RoleStaff}}); err != nil {
			t.Fatal(err)
		}
		if err := a.SetUserPassword(ctx, "test", "yamada", brokertest.Password, false); err != nil {
			t.Fatal(err)
		}
		if err := a.SetTOTPSecret(ctx, "yamada", killSecret, false); err != nil {
			t.Fatal(err)
		}
	})
	c, err := api.NewClient(p.URL, api.ClientOptions{Fingerprint: p.Fingerprint, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	code, err := auth.TOTPCode(killSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	login, err := c.Login(context.Background(), api.LoginRequest{StaffID: "yamada", Password: brokertest.Password, OTP: code,
		Device: api.DeviceInfo{Name: "test laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
	if err != nil {
		t.Fatal(err)
	}

	j := openT(t, t.TempDir(), Options{})
	defer j.Close()
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := j.Record("rdp.exit", map[string]string{"w": strconv.Itoa(w), "i": strconv.Itoa(i), "code": "0"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	const n = writers * each

	u := NewUploader(j, c, login.Device.ID, Ed25519Signer(key), nil)
	u.BatchMax, u.MaxAge, u.MinBackoff, u.MaxBackoff = 40, time.Millisecond, 20*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	for _, at := range []int64{n / 4, n * 2 / 3} {
		deadline := time.Now().Add(60 * time.Second)
		for u.Status().Acked < at {
			if time.Now().After(deadline) {
				t.Fatalf("upload stalled at %+v; broker log:\n%s", u.Status(), p.Log.String())
			}
			time.Sleep(time.Millisecond)
		}
		p.Restart() // SIGKILL, then start the binary again on the same data and address
		t.Logf("killed the broker with %d of %d acknowledged", u.Status().Acked, n)
	}
	waitDrained(t, u)
	cancel()
	<-done
	if err := p.Terminate(); err != nil {
		t.Logf("terminate: %v", err)
	}

	st, err := sqlite.Open(context.Background(), filepath.Join(p.DataDir, "zaitaku.db"), nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows, distinct, lo, hi int64
	if err := st.R.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM oplog_events WHERE device_id = ?`,
		login.Device.ID).Scan(&rows, &distinct, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || lo != 1 || hi != n {
		t.Fatalf("stored %d rows, %d distinct, seq %d..%d; want exactly %d, 1..%d", rows, distinct, lo, hi, n, n)
	}
	var findings int
	if err := st.R.QueryRow(`SELECT COUNT(*) FROM oplog_findings WHERE device_id = ?`, login.Device.ID).Scan(&findings); err != nil {
		t.Fatal(err)
	}
	if findings != 0 {
		t.Fatalf("%d findings: a kill must not look like tampering", findings)
	}
}
