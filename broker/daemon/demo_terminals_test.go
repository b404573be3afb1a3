package daemon_test

import (
	"context"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

func TestDemoOfficePCs(t *testing.T) {
	t.Setenv(daemon.DemoRDPPortEnv, "13389")
	var db *daemon.Broker
	brokertest.Start(t, brokertest.WithSetup(func(d *daemon.Broker) { db = d }))
	ctx := context.Background()
	for i := range 2 { // idempotent
		if err := daemon.SeedDemo(ctx, db.Services, nil); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
	}
	ts, err := db.Services.Terminals.List(ctx)
	if err != nil || len(ts) != 6 {
		t.Fatalf("%d office PCs, %v; want 6", len(ts), err)
	}
	for _, tc := range []struct{ user, pc string }{{"yamada", "soumu-01"}, {"sato", "zeimu-01"}, {"suzuki", "fukushi-01"}, {"tanaka", "soumu-02"}, {"ito", "fukushi-mn-01"}} {
		pc, err := db.Services.Terminals.ForUser(ctx, tc.user)
		if err != nil || pc.ID != tc.pc || pc.Address != "127.0.0.1" || pc.RDPPort != 13389 {
			t.Errorf("%s: %+v %v", tc.user, pc, err)
		}
	}
	if pc, _ := db.Services.Terminals.Get(ctx, "fukushi-mn-01"); pc.Segment != api.SegmentMyNumber {
		t.Errorf("the demo's My Number PC is in segment %q", pc.Segment)
	}
	if l, err := db.Services.Terminals.SatelliteOffices(ctx); err != nil || len(l) != 1 || l[0].Ranges[0] != "127.0.0.2/32" {
		t.Errorf("demo satellite offices: %+v %v", l, err)
	}
	if db.Services.Slots.PoolSize() != 1 {
		t.Errorf("pool size %d, want 1", db.Services.Slots.PoolSize())
	}
}
