package core

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestActivityFromTheOfficePC: work in the remote desktop (traffic from
// the laptop through the tunnel) reaches Deps.Activity at the heartbeat,
// which app/chat's idle detection counts as input: someone busy on their
// office PC is not shown 離席中.
func TestActivityFromTheOfficePC(t *testing.T) {
	e := newFlowEnv(t, 5)
	l := newFakeLauncher()
	c := e.app(t, "yamada", l, &flowRecorder{})
	var n atomic.Int32
	c.deps.Activity = func() { n.Add(1) } // before Connect starts the heartbeat
	c.Connect()
	waitFor(t, c, "connected", phaseIs(Connected))
	deadline := time.Now().Add(20 * time.Second)
	for n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the keystrokes sent to the office PC never counted as activity")
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.exit <- 0
	waitFor(t, c, "back to ready", phaseIs(Ready))
}
