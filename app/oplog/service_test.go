package oplog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestServiceFollowsTheSession: the uploader runs for a signed-in
// session, uploads what is pending before a sign-out revokes the token,
// and stops with the session; the About screen's state says each step.
// It drives the real core client the way the app's main wires it.
func TestServiceFollowsTheSession(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRealClock())
	adm := b.Signin(t, "it-admin", api.RoleAdmin)
	u := b.CreateUser(t, "sato")
	ol, err := oplog.Start(filepath.Join(t.TempDir(), "oplog"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ol.Close)
	if st := ol.Status(); st.Uploading {
		t.Fatalf("uploading before sign-in: %+v", st)
	}
	c, err := core.New(core.Config{BrokerURL: b.URL, Fingerprint: b.Fingerprint, DeviceName: "laptop-sato"},
		core.Deps{Recorder: ol, BeforeLogout: ol.BeforeLogout, OnSession: func(s core.Session) {
			ol.StartSession(s.API, s.DeviceID, s.Sign, s.Done)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	if _, err := c.Login(ctx, u.ID, u.Password, b.Code(t, u), false); err != nil {
		t.Fatal(err)
	}
	if st := ol.Status(); !st.Uploading {
		t.Fatalf("not uploading once signed in: %+v", st)
	}
	// Within the uploader's batching delay: nothing waits for it but the
	// sign-out.
	if err := ol.Record("test.marker", map[string]string{"n": "1"}); err != nil {
		t.Fatal(err)
	}
	if st := ol.Status(); st.Pending == 0 {
		t.Fatalf("the new event is not pending: %+v", st)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := adm.SearchOplogs(ctx, api.OplogQuery{User: "sato", Type: "test.marker"})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("the broker has %+v (%v): the sign-out did not upload the pending events", page, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ol.Status().Uploading && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := ol.Status()
	if st.Uploading || st.Pending != 1 {
		// Only "logout" itself, recorded after the token was revoked.
		t.Fatalf("after sign-out: %+v, want the uploader stopped and 1 event (logout) pending", st)
	}
}

// TestServiceNewSessionReplacesTheUploader: a second sign-in (a resumed
// session after a revoked one, say) runs its own uploader; the first
// session's end no longer stops anything.
func TestServiceNewSessionReplacesTheUploader(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRealClock())
	ol, err := oplog.Start(filepath.Join(t.TempDir(), "oplog"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ol.Close)
	s := b.Signin(t, "tanaka")
	first, second := make(chan struct{}), make(chan struct{})
	ol.StartSession(s.Client, "dev-1", func([]byte) []byte { return nil }, first)
	ol.StartSession(s.Client, "dev-1", func([]byte) []byte { return nil }, second)
	close(first)
	time.Sleep(50 * time.Millisecond)
	if !ol.Status().Uploading {
		t.Fatal("the first session's end stopped the second session's uploader")
	}
	close(second)
	deadline := time.Now().Add(5 * time.Second)
	for ol.Status().Uploading && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ol.Status().Uploading {
		t.Fatal("still uploading after the session ended")
	}
}
