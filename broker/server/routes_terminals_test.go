package server_test

import (
	"context"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

func TestTerminalsAdmin(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	b.CreateUser(t, "yamada")
	b.CreateUser(t, "sato")
	pc, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "PC-Soumu-01", Name: "総務課 01", Address: "10.1.2.3",
		MAC: "00-1A-2B-3C-4D-5E", Department: "総務課", UserID: "yamada"})
	if err != nil {
		t.Fatal(err)
	}
	if pc.ID != "pc-soumu-01" || pc.RDPPort != 3389 || pc.WakePort != 9 || pc.WakeAddr != "255.255.255.255" ||
		pc.MAC != "00:1a:2b:3c:4d:5e" || pc.UserID != "yamada" || pc.State != api.TerminalUnknown {
		t.Errorf("defaults and normalisation: %+v", pc)
	}
	for _, tc := range []struct {
		name string
		req  api.CreateTerminalRequest
		want api.Code
	}{
		{"no name", api.CreateTerminalRequest{Address: "10.0.0.1"}, api.CodeValidation},
		{"bad address", api.CreateTerminalRequest{Name: "x", Address: "not an address!"}, api.CodeValidation},
		{"bad port", api.CreateTerminalRequest{Name: "x", Address: "10.0.0.1", RDPPort: 70000}, api.CodeValidation},
		{"bad MAC", api.CreateTerminalRequest{Name: "x", Address: "10.0.0.1", MAC: "00:11"}, api.CodeValidation},
		{"bad ID", api.CreateTerminalRequest{ID: "a/b", Name: "x", Address: "10.0.0.1"}, api.CodeValidation},
		{"pool and paired", api.CreateTerminalRequest{Name: "x", Address: "10.0.0.1", Pool: true, UserID: "sato"}, api.CodeValidation},
		{"duplicate ID", api.CreateTerminalRequest{ID: "pc-soumu-01", Name: "x", Address: "10.0.0.1"}, api.CodeTerminalExists},
		{"user already paired", api.CreateTerminalRequest{Name: "x", Address: "10.0.0.1", UserID: "yamada"}, api.CodeTerminalUserTaken},
		{"unknown user", api.CreateTerminalRequest{Name: "x", Address: "10.0.0.1", UserID: "nobody"}, api.CodeTerminalUserNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := it.CreateTerminal(ctx, tc.req); errCode(err) != tc.want {
				t.Errorf("%v, want %s", err, tc.want)
			}
		})
	}
	if ts, err := it.Terminals(ctx); err != nil || len(ts) != 1 {
		t.Fatalf("list after refusals: %d %v", len(ts), err)
	}

	// Re-pairing: yamada's PC goes to sato; then yamada can get another.
	if pc, err = it.PairTerminal(ctx, "pc-soumu-01", "sato"); err != nil || pc.UserID != "sato" {
		t.Fatalf("pair: %+v %v", pc, err)
	}
	if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-soumu-02", Name: "総務課 02", Address: "pc02.lan", UserID: "yamada"}); err != nil {
		t.Fatal(err)
	}
	if _, err := it.PairTerminal(ctx, "pc-soumu-02", "sato"); errCode(err) != api.CodeTerminalUserTaken {
		t.Errorf("pairing sato twice: %v", err)
	}
	if _, err := it.PairTerminal(ctx, "pc-nope", "sato"); errCode(err) != api.CodeTerminalNotFound {
		t.Errorf("pairing an unknown PC: %v", err)
	}
	name, port := "総務課 02 (窓側)", 3390
	if pc, err = it.UpdateTerminal(ctx, "pc-soumu-02", api.UpdateTerminalRequest{Name: &name, RDPPort: &port}); err != nil || pc.Name != name || pc.RDPPort != 3390 {
		t.Errorf("update: %+v %v", pc, err)
	}
	// 0 means the default port, as at creation.
	zero := 0
	if pc, err = it.UpdateTerminal(ctx, "pc-soumu-02", api.UpdateTerminalRequest{RDPPort: &zero}); err != nil || pc.RDPPort != 3389 {
		t.Errorf("update port 0: %+v %v", pc, err)
	}
	if pc, err = it.UpdateTerminal(ctx, "pc-soumu-02", api.UpdateTerminalRequest{RDPPort: &port}); err != nil || pc.RDPPort != 3390 {
		t.Errorf("update port back: %+v %v", pc, err)
	}
	bad := "999.1.1.1.1"
	if _, err := it.UpdateTerminal(ctx, "pc-soumu-02", api.UpdateTerminalRequest{Address: &bad}); errCode(err) != api.CodeValidation {
		t.Errorf("update to a bad address: %v", err)
	}
	// The staff member sees their PC in /v1/status, without network details.
	yamada := b.Login(t, brokertest.User{ID: "yamada", Password: brokertest.Password, TOTPSecret: "JBSWY3DPEHPK3PXPAAAAAAAAAAAAAAAA"})
	st, err := yamada.Status(ctx)
	if err != nil || st.Terminal == nil || st.Terminal.ID != "pc-soumu-02" || st.Terminal.Name != name {
		t.Errorf("status: %+v %v", st, err)
	}
	// Unpair and delete.
	if pc, err = it.PairTerminal(ctx, "pc-soumu-02", ""); err != nil || pc.UserID != "" {
		t.Errorf("unpair: %+v %v", pc, err)
	}
	if err := it.DeleteTerminal(ctx, "pc-soumu-02"); err != nil {
		t.Fatal(err)
	}
	if err := it.DeleteTerminal(ctx, "pc-soumu-02"); errCode(err) != api.CodeTerminalNotFound {
		t.Errorf("second delete: %v", err)
	}
	// A shared pool PC lets a staff member without a PC connect.
	if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pool-1", Name: "共用端末1", Address: "127.0.0.1", Pool: true}); err != nil {
		t.Fatal(err)
	}
	if s, err := yamada.RequestSlot(ctx, api.SlotRequest{}); err != nil || s.State != api.SlotGranted || s.Terminal == nil || s.Terminal.ID != "pool-1" {
		t.Errorf("pool grant: %+v %v", s, err)
	}
	ts, err := it.Terminals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range ts {
		if pc.ID == "pool-1" && pc.State != api.TerminalInUse {
			t.Errorf("pool PC state while used: %s", pc.State)
		}
	}
}
