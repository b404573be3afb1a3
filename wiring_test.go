package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestOplogWiringFollowsTheSession: the uploader runs for a signed-in
// session, uploads what is pending before a sign-out revokes the token,
// and stops with the session; the About screen's state says each step.
func TestOplogWiringFollowsTheSession(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRealClock())
	adm := b.Signin(t, "it-admin", api.RoleAdmin)
	u := b.CreateUser(t, "sato")
	ow, err := openOplog(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ow.close)
	if st := ow.status(); st.Uploading {
		t.Fatalf("uploading before sign-in: %+v", st)
	}
	c, err := core.New(core.Config{BrokerURL: b.URL, Fingerprint: b.Fingerprint, DeviceName: "laptop-sato", Lang: "ja"},
		core.Deps{Recorder: ow.j, OnSession: ow.onSession, BeforeLogout: ow.beforeLogout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	if _, err := c.Login(ctx, u.ID, u.Password, b.Code(t, u), false); err != nil {
		t.Fatal(err)
	}
	if st := ow.status(); !st.Uploading {
		t.Fatalf("not uploading once signed in: %+v", st)
	}
	// Within the uploader's batching delay: nothing waits for it but the
	// sign-out.
	if err := ow.j.Record("test.marker", map[string]string{"n": "1"}); err != nil {
		t.Fatal(err)
	}
	if st := ow.status(); st.Pending == 0 {
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
	for ow.status().Uploading && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := ow.status()
	if st.Uploading || st.Pending != 1 {
		// Only "logout" itself, recorded after the token was revoked.
		t.Fatalf("after sign-out: %+v, want the uploader stopped and 1 event (logout) pending", st)
	}
}
