package core

import (
	"context"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
)

// TestBCPAnnouncedAndPriorityServedFirst runs BCP mode through the real
// broker: with the cap full, a supervisor (a priority role) who queues
// after an ordinary colleague is served first once a slot frees; the
// switch reaches the running apps over the event socket at once, and an
// app that signs in later learns it from its status.
func TestBCPAnnouncedAndPriorityServedFirst(t *testing.T) {
	e := newFlowEnv(t, 1)
	ctx := context.Background()
	port := fakePC(t)
	e.pcs["kacho"] = e.b.CreateUser(t, "kacho", api.RoleStaff, api.RoleSupervisor)
	if _, err := e.it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-kacho", Name: "課長のPC", Address: "127.0.0.1",
		RDPPort: port, UserID: "kacho"}); err != nil {
		t.Fatal(err)
	}
	// The cap is full: yamada holds it, sato waits.
	ly := newFakeLauncher()
	yamada := e.app(t, "yamada", ly, &flowRecorder{})
	yamada.Connect()
	waitFor(t, yamada, "yamada connected", phaseIs(Connected))
	sato := e.app(t, "sato", newFakeLauncher(), &flowRecorder{})
	sato.Connect()
	waitFor(t, sato, "sato queued", func(s State) bool { return s.Phase == Queued && s.Queue == 1 })
	if sato.State().BCP != nil {
		t.Fatal("BCP mode shown before it was switched on")
	}

	// IT configures BCP mode beforehand and switches it on in the disaster.
	if _, err := e.it.SwitchBCP(ctx, true, "震度6弱"); api.AsError(err) == nil || api.AsError(err).Code != api.CodeBCPNotConfigured {
		t.Fatalf("on before configuring: %v", err)
	}
	capN := 1 // the same cap: only the order changes
	if _, err := e.it.ConfigureBCP(ctx, api.BCPConfigUpdate{Cap: &capN, Roles: &[]api.Role{api.RoleSupervisor}}); err != nil {
		t.Fatal(err)
	}
	const reason = "震度6弱の地震のため、災害対応業務を優先します"
	if _, err := e.it.SwitchBCP(ctx, true, reason); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Client{"yamada": yamada, "sato": sato} {
		st := waitFor(t, c, name+" told of BCP mode", func(s State) bool { return s.BCP != nil })
		if st.BCP.Reason != reason || st.BCP.Cap != 1 || st.BCP.Since.IsZero() {
			t.Errorf("%s: BCP %+v", name, st.BCP)
		}
	}
	// An app that signs in now learns it from its status.
	kacho := e.app(t, "kacho", newFakeLauncher(), &flowRecorder{})
	waitFor(t, kacho, "kacho sees BCP mode", func(s State) bool { return s.BCP != nil && s.BCP.Reason == reason })
	kacho.Connect()
	waitFor(t, kacho, "kacho queued ahead of sato", func(s State) bool { return s.Phase == Queued && s.Queue == 1 })
	waitFor(t, sato, "sato moved back", func(s State) bool { return s.Phase == Queued && s.Queue == 2 })
	list, err := e.it.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !list.BCP.Active || list.Queued != 2 || list.Cap != 1 || len(list.Queue) != 2 || list.Queue[0].UserID != "kacho" {
		t.Fatalf("IT's live view: %+v", list)
	}

	// yamada's session ends: the supervisor is served, though sato came first.
	ly.exit <- 0
	waitFor(t, kacho, "kacho connected", phaseIs(Connected))
	if st := sato.State(); st.Phase != Queued || st.Queue != 1 {
		t.Fatalf("sato: %s at %d, want still queued, now first", st.Phase, st.Queue)
	}

	if _, err := e.it.SwitchBCP(ctx, false, "復旧"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sato, "sato told BCP mode ended", func(s State) bool { return s.BCP == nil })
	waitFor(t, yamada, "yamada told BCP mode ended", func(s State) bool { return s.BCP == nil })

	page, err := e.it.SearchOplogs(ctx, api.OplogQuery{Type: "admin.bcp_on"})
	if err != nil || len(page.Events) != 1 || page.Events[0].Fields["reason"] != reason {
		t.Fatalf("audit of the switch: %+v %v", page, err)
	}
}
