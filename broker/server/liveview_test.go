package server_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestLiveViewInOneCall pins the JSON of GET /admin/v1/sessions that the
// web console reads: per session the user, their name and department, the
// office PC, since when, the bytes; the queue in service order; the cap
// in force, the counts and BCP mode, in one answer.
func TestLiveViewInOneCall(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	adm := b.Signin(t, "it", api.RoleAdmin)
	capN := 1
	if _, err := adm.SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &capN}); err != nil {
		t.Fatal(err)
	}
	var slotID string
	for i, id := range []string{"yamada", "sato"} {
		s := b.Signin(t, id)
		if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + id, Name: "総務課-0" + string(rune('1'+i)),
			Address: "127.0.0.1", RDPPort: 9, UserID: id}); err != nil {
			t.Fatal(err)
		}
		sl, err := s.RequestSlot(ctx, api.SlotRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			slotID = sl.ID
		}
	}
	b.Services.Slots.AddBytes(slotID, 1500, 250000)

	var raw struct {
		Cap, Used, Queued int
		BCP               map[string]any
		Sessions, Queue   []map[string]any
	}
	var body json.RawMessage
	if err := adm.Do(ctx, "GET", "/admin/v1/sessions", nil, &body); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Cap != 1 || raw.Used != 1 || raw.Queued != 1 || raw.BCP == nil || raw.BCP["active"] != false {
		t.Fatalf("counts and BCP mode: %s", body)
	}
	if len(raw.Sessions) != 1 || len(raw.Queue) != 1 {
		t.Fatalf("sessions and queue: %s", body)
	}
	s := raw.Sessions[0]
	pc, _ := s["terminal"].(map[string]any)
	for k, want := range map[string]any{"user_id": "yamada", "user_name": "Test yamada", "department": "総務課",
		"state": api.SlotGranted, "bytes_up": 1500.0, "bytes_down": 250000.0} {
		if s[k] != want {
			t.Errorf("session %s = %v, want %v (%s)", k, s[k], want, body)
		}
	}
	if pc == nil || pc["name"] != "総務課-01" || pc["id"] != "pc-yamada" || s["granted_at"] == nil {
		t.Errorf("session PC and since: %v %v", pc, s["granted_at"])
	}
	q := raw.Queue[0]
	if q["user_id"] != "sato" || q["position"] != 1.0 || q["requested_at"] == nil {
		t.Errorf("queue: %v", q)
	}
}
