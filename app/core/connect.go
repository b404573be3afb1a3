package core

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Connect starts the main job in the background: request a slot, wait in
// the queue, wake the office PC, open the tunnel, run the RDP client until
// it exits or the session ends. Progress shows only in State. It does
// nothing while signed out or while a connection is under way.
func (c *Client) Connect() {
	if c.State().Phase == SignedOut {
		return
	}
	f := &c.flow
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		return
	}
	// The flow runs under the session: signing out ends it.
	ctx, cancel := context.WithCancel(c.sessionCtx())
	sub := make(chan api.Event, 256)
	done := make(chan struct{})
	f.running, f.cancel, f.userStop, f.sub, f.done = true, cancel, false, sub, done
	f.mu.Unlock()
	c.goBackground(func() {
		defer func() {
			f.mu.Lock()
			f.running, f.cancel, f.sub, f.done = false, nil, nil, nil
			f.mu.Unlock()
			cancel()
			close(done)
		}()
		c.runFlow(ctx, sub)
	})
}

// StopConnection ends a running connection (or queue wait) and waits until
// its slot is released, or ctx ends. Sign-out calls it before revoking the
// tokens, so the slot is free at once rather than after the lease.
func (c *Client) StopConnection(ctx context.Context) {
	f := &c.flow
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	if done == nil {
		return
	}
	c.Disconnect()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Disconnect ends the session or leaves the queue; the slot is released.
func (c *Client) Disconnect() {
	f := &c.flow
	f.mu.Lock()
	cancel := f.cancel
	if cancel != nil {
		f.userStop = true
	}
	f.mu.Unlock()
	if cancel != nil {
		c.update(func(s *State) {
			if s.Phase.Busy() {
				s.Phase, s.Since = Ending, c.now()
			}
		})
		cancel()
	}
}

// flowRun is one pass of the connect flow.
type flowRun struct {
	c      *Client
	ctx    context.Context
	sub    <-chan api.Event
	slot   api.Slot
	hbDone chan error // the heartbeat's end: the broker says the slot is gone
	tun    atomic.Pointer[Tunnel]
}

type launchResult struct {
	code int
	err  error
}

// errEnded carries the broker's reason when it ended the slot.
type errEnded struct {
	reason  EndReason
	message string
}

func (e *errEnded) Error() string { return "slot ended: " + string(e.reason) }

// errClientEnded is a normal end the app saw itself (the RDP window
// closed, a sign-out on the office PC, a broken line): the slot is still
// the app's to give back.
type errClientEnded struct{ reason EndReason }

func (e *errClientEnded) Error() string { return "session ended: " + string(e.reason) }

func (c *Client) runFlow(ctx context.Context, sub <-chan api.Event) {
	c.setPhase(Requesting, func(s *State) {
		s.Err, s.EndReason, s.EndMessage, s.Warning = nil, "", "", EndWarning{}
		s.Queue, s.QueueETA, s.Wake = 0, 0, ""
	})
	c.record("slot.requested", "device", c.cfg.DeviceName)
	slot, err := c.api.RequestSlot(ctx, api.SlotRequest{Device: c.cfg.DeviceName})
	if err != nil {
		c.flowFailed(ctx, "", err)
		return
	}
	r := &flowRun{c: c, ctx: ctx, sub: sub, slot: *slot, hbDone: make(chan error, 1)}
	hbCtx, hbStop := context.WithCancel(ctx)
	defer hbStop()
	c.goBackground(func() {
		r.hbDone <- c.heartbeat(hbCtx, slot.ID, time.Duration(slot.HeartbeatSeconds)*time.Second, func() byteCounter {
			if t := r.tun.Load(); t != nil {
				return t
			}
			return nil
		})
	})
	err = r.run()
	if t := r.tun.Load(); t != nil {
		up, down := t.Bytes()
		_ = t.Close()
		c.record("tunnel.close", "slot", r.slot.ID, "bytes_up", strconv.FormatInt(up, 10), "bytes_down", strconv.FormatInt(down, 10))
	}
	hbStop()
	var ended *errEnded
	var clientEnded *errClientEnded
	switch {
	case ctx.Err() != nil:
		// The user stopped or the app quit: whatever the flow saw last
		// (the heartbeat stopping with it, say), the slot is given back.
		c.releaseSlot(r.slot.ID)
		c.record("slot.released", "slot", r.slot.ID, "reason", api.EndUser)
		c.flowEnded(EndUser, "")
	case errors.As(err, &ended):
		c.record("slot.released", "slot", r.slot.ID, "reason", string(ended.reason))
		c.flowEnded(ended.reason, ended.message)
	case errors.As(err, &clientEnded):
		c.releaseSlot(r.slot.ID)
		c.record("slot.released", "slot", r.slot.ID, "reason", string(clientEnded.reason))
		c.flowEnded(clientEnded.reason, "")
	case err == nil:
		c.releaseSlot(r.slot.ID)
		c.record("slot.released", "slot", r.slot.ID, "reason", api.EndUser)
		c.flowEnded(EndUser, "")
	default:
		c.flowFailed(ctx, r.slot.ID, err)
	}
}

// run walks the phases; nil means the user ended it.
func (r *flowRun) run() error {
	c := r.c
	for r.slot.State == api.SlotQueued {
		c.record("slot.queued", "slot", r.slot.ID, "position", strconv.Itoa(r.slot.Position))
		c.setPhase(Queued, func(s *State) {
			s.Queue, s.QueueETA = r.slot.Position, time.Duration(r.slot.ETASeconds)*time.Second
		})
		ev, err := r.next()
		if err != nil {
			return err
		}
		switch ev.Type {
		case api.EventQueue:
			var q api.QueueUpdate
			if json.Unmarshal(ev.Data, &q) == nil && q.SlotID == r.slot.ID {
				r.slot.Position, r.slot.ETASeconds = q.Position, q.ETASeconds
			}
		case api.EventGranted:
			var g api.Slot
			if json.Unmarshal(ev.Data, &g) == nil && g.ID == r.slot.ID {
				r.slot = g
			}
		case resyncEvent:
			s, err := c.api.MySlot(r.ctx)
			if err != nil {
				return r.gone(err)
			}
			if s.ID != r.slot.ID {
				return &errEnded{reason: EndLease}
			}
			r.slot = *s
		}
	}
	termID, termName := "", ""
	if t := r.slot.Terminal; t != nil {
		termID, termName = t.ID, t.Name
	}
	c.record("slot.granted", "slot", r.slot.ID, "terminal", termID)
	c.setPhase(Waking, func(s *State) {
		s.Queue, s.QueueETA, s.Wake = 0, 0, WakeChecking
		if termID != "" {
			t := &Terminal{ID: termID, Name: termName, State: TerminalUnknown}
			if s.Terminal != nil && s.Terminal.ID == termID {
				t.SeenAt = s.Terminal.SeenAt
			}
			s.Terminal = t
		}
	})
	if err := r.waitAwake(); err != nil {
		return err
	}

	t, err := OpenTunnel(r.ctx, c.api, r.slot.ID)
	if err != nil {
		return err
	}
	r.tun.Store(t)
	c.record("tunnel.open", "slot", r.slot.ID, "port", strconv.Itoa(t.Port()))
	c.setPhase(Connecting, func(s *State) { s.Wake = "" })
	if c.deps.Launcher == nil {
		return api.Err(api.CodeSlotClientFailed, "no remote desktop program on this computer")
	}
	return r.runClient(t)
}

// next waits for the next event of the flow, or for its end.
func (r *flowRun) next() (api.Event, error) {
	for {
		select {
		case <-r.ctx.Done():
			return api.Event{}, r.ctx.Err()
		case err := <-r.hbDone:
			return api.Event{}, r.gone(err)
		case ev := <-r.sub:
			if ev.Type == api.EventEnded {
				var e api.EndedNotice
				if json.Unmarshal(ev.Data, &e) == nil && e.SlotID == r.slot.ID {
					return ev, &errEnded{reason: EndReason(e.Reason), message: e.Message}
				}
				continue
			}
			return ev, nil
		}
	}
}

// gone turns the broker's "no such slot" into an end with its reason.
func (r *flowRun) gone(err error) error {
	e := api.AsError(err)
	switch {
	case err == nil:
		return &errEnded{reason: EndLease}
	case e != nil && e.Code == api.CodeSlotEnded:
		return &errEnded{reason: EndReason(e.Detail)}
	case e != nil && e.Code == api.CodeSlotNotFound:
		return &errEnded{reason: EndLease}
	}
	return err
}

// waitAwake follows the broker's wake progress until the PC answers.
func (r *flowRun) waitAwake() error {
	c := r.c
	for {
		ev, err := r.next()
		if err != nil {
			return err
		}
		if ev.Type != api.EventWake {
			continue
		}
		var w api.WakeProgress
		if json.Unmarshal(ev.Data, &w) != nil || w.SlotID != r.slot.ID {
			continue
		}
		c.record("wake.stage", "slot", r.slot.ID, "stage", w.Stage)
		switch w.Stage {
		case api.WakeReady:
			c.update(func(s *State) {
				s.Wake = WakeReady
				s.setTerminalState(TerminalAwake)
			})
			return nil
		case api.WakeFailed:
			c.update(func(s *State) {
				s.Wake = WakeFailed
				s.setTerminalState(TerminalAsleep)
			})
			return api.Err(api.CodeSlotWakeFailed, w.Detail)
		default:
			c.update(func(s *State) { s.Wake = WakeStage(w.Stage) })
		}
	}
}

// runClient runs the RDP client against the tunnel until it exits or the
// session ends.
func (r *flowRun) runClient(t *Tunnel) error {
	c := r.c
	lctx, lcancel := context.WithCancel(r.ctx)
	defer lcancel()
	exitc := make(chan launchResult, 1)
	user := ""
	if st := c.State(); st.User != nil {
		user = st.User.ID
	}
	var policy RDPPolicy // the LGWAN profile unless the broker says otherwise
	if r.slot.RDP != nil {
		policy = *r.slot.RDP
	}
	c.record("rdp.start", "slot", r.slot.ID, "port", strconv.Itoa(t.Port()), "redirect", policy.String())
	go func() {
		code, err := c.deps.Launcher.Launch(lctx, LaunchTarget{Host: "127.0.0.1", Port: t.Port(), User: user, Policy: policy})
		exitc <- launchResult{code, err}
	}()
	// Connected once the office PC's screen flows back through the tunnel.
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	connected := false
	stop := func(err error) error {
		lcancel()
		res := <-exitc
		c.record("rdp.exit", "slot", r.slot.ID, "code", strconv.Itoa(res.code))
		return err
	}
	for {
		select {
		case <-r.ctx.Done():
			return stop(nil)
		case err := <-r.hbDone:
			return stop(r.withNotice(r.gone(err)))
		case res := <-exitc:
			c.record("rdp.exit", "slot", r.slot.ID, "code", strconv.Itoa(res.code))
			if res.err != nil {
				return api.Err(api.CodeSlotClientFailed, res.err.Error())
			}
			return r.clientExited(t, connected, res.code)
		case <-poll.C:
			if _, down := t.Bytes(); !connected && down > 0 {
				connected = true
				c.setPhase(Connected, func(s *State) { s.setTerminalState(TerminalInUse) })
			}
		case ev := <-r.sub:
			switch ev.Type {
			case api.EventEnded:
				var e api.EndedNotice
				if json.Unmarshal(ev.Data, &e) == nil && e.SlotID == r.slot.ID {
					return stop(&errEnded{reason: EndReason(e.Reason), message: e.Message})
				}
			case api.EventWarning:
				var w api.SlotWarning
				if json.Unmarshal(ev.Data, &w) == nil && w.SlotID == r.slot.ID {
					c.update(func(s *State) { s.Warning = EndWarning{Reason: w.Reason, EndsAt: w.EndsAt} })
				}
			}
		}
	}
}

// clientExited turns the RDP client's exit into the end it was, or a
// failure: most exits are normal (the window closed, a sign-out on the
// office PC), and only a client that failed is an error with a code.
func (r *flowRun) clientExited(t *Tunnel, connected bool, code int) error {
	end := r.c.readExit(code)
	t.Settle(500 * time.Millisecond)
	cut := t.LastError() // the tunnel broke under the client, rather than the client closing it
	if cut != nil || end != ClientClosed {
		// What the client saw may be the broker ending the session (IT,
		// the maximum length): its notice is a moment behind the cut.
		if err := r.brokerEnd(time.Second); err != nil {
			return err
		}
	}
	failed := func() error {
		detail := "exit code " + strconv.Itoa(code)
		if cut != nil {
			detail += ": " + cut.Error()
		}
		return api.Err(api.CodeSlotClientFailed, detail)
	}
	switch {
	case end == ClientFailed:
		return failed()
	case !connected && (cut != nil || end != ClientClosed):
		// It never showed the office screen: not an end but a failure to
		// connect (mstsc and Windows App exit 0 after their own error dialog).
		return failed()
	case end == ClientDisconnected:
		return &errClientEnded{EndDisconnected}
	case end == ClientSignedOut:
		return &errClientEnded{EndSignedOut}
	case end == ClientEndedByTerminal:
		return &errClientEnded{EndByTerminal}
	case end == ClientNetwork, cut != nil:
		return &errClientEnded{EndNetwork}
	}
	return &errClientEnded{EndClosed}
}

// brokerEnd waits up to d for the broker to say it ended the slot; nil if
// it does not.
func (r *flowRun) brokerEnd(d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return nil
		case <-r.ctx.Done():
			return nil
		case err := <-r.hbDone:
			var ended *errEnded
			if e := r.gone(err); errors.As(e, &ended) {
				return r.withNotice(e)
			}
			return nil
		case ev := <-r.sub:
			if ev.Type != api.EventEnded {
				continue
			}
			var e api.EndedNotice
			if json.Unmarshal(ev.Data, &e) == nil && e.SlotID == r.slot.ID {
				return &errEnded{reason: EndReason(e.Reason), message: e.Message}
			}
		}
	}
}

// withNotice: the heartbeat learnt that the broker ended the slot, which
// carries the reason but not IT's words; the event with both is usually a
// moment behind, so it waits for it briefly.
func (r *flowRun) withNotice(err error) error {
	var ended *errEnded
	if !errors.As(err, &ended) {
		return err
	}
	timer := time.NewTimer(300 * time.Millisecond)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return err
		case <-r.ctx.Done():
			return err
		case ev := <-r.sub:
			var e api.EndedNotice
			if ev.Type == api.EventEnded && json.Unmarshal(ev.Data, &e) == nil && e.SlotID == r.slot.ID {
				return &errEnded{reason: EndReason(e.Reason), message: e.Message}
			}
		}
	}
}

// releaseSlot gives the slot back; a failure only delays the broker's own
// cleanup by the lease time.
func (c *Client) releaseSlot(slotID string) {
	if slotID == "" {
		return
	}
	// Not under c.ctx: when the app quits, the slot is still given back
	// (Close waits for this, at most a few seconds).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.api.ReleaseSlot(ctx, slotID); err != nil {
		if e := api.AsError(err); e == nil || (e.Code != api.CodeSlotNotFound && e.Code != api.CodeSlotEnded) {
			c.log.Warn("release slot", "slot", slotID, "err", err)
		}
	}
}

// flowEnded returns to Ready with the reason (unless signed out meanwhile).
func (c *Client) flowEnded(reason EndReason, message string) {
	if c.sessionCtx().Err() != nil {
		return
	}
	c.setPhase(Ready, func(s *State) {
		s.EndReason, s.EndMessage, s.Warning = reason, message, EndWarning{}
		s.Queue, s.QueueETA, s.Wake = 0, 0, ""
		if s.Terminal != nil && s.Terminal.State == TerminalInUse {
			s.setTerminalState(TerminalAwake)
		}
	})
	c.refreshStatus(c.sessionCtx())
}

// flowFailed releases the slot and shows what to do.
func (c *Client) flowFailed(ctx context.Context, slotID string, err error) {
	c.releaseSlot(slotID)
	if slotID != "" {
		c.record("slot.released", "slot", slotID, "reason", "error")
	}
	if ctx.Err() != nil && c.sessionCtx().Err() == nil {
		c.flowEnded(EndUser, "")
		return
	}
	e := c.noteError(err)
	if e == nil || c.sessionCtx().Err() != nil {
		return
	}
	c.setPhase(Failed, func(s *State) {
		s.Err, s.Queue, s.QueueETA, s.Warning = e, 0, 0, EndWarning{}
	})
}
