package slots

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Sweep ends what is due at the manager's clock: lapsed leases (a crashed
// app), idle sessions and sessions at their maximum length, warning first;
// it also applies the policy and the ends written by the CLI. The server
// runs it every few seconds; tests call it after moving the clock.
func (m *Manager) Sweep(ctx context.Context) error {
	// Database reads first, outside the lock.
	pol, perr := m.cfg.Store.LoadConfig(ctx)
	if errors.Is(perr, ErrNoConfig) {
		pol, perr = m.Policy(), nil
	}
	reqs, rerr := m.cfg.Store.EndRequests(ctx)
	// Shared PCs may have been added from the CLI.
	pool, poolErr := m.cfg.Terminals.Pool(ctx)
	bcp, bcpErr := m.cfg.Store.LoadBCP(ctx)
	hours := m.windows(ctx)

	m.mu.Lock()
	now := m.now()
	c := &change{m: m}
	// Adopt a policy the CLI wrote; never go back to an older one this
	// manager is still committing.
	if perr == nil && !samePolicy(pol, m.policy) && pol.UpdatedAt.After(m.policy.UpdatedAt) {
		m.policy = pol
		for _, s := range m.queue {
			s.pos = 0 // estimates change with the cap
		}
	}
	if poolErr == nil {
		m.pool = pool
	}
	// Adopt a BCP switch the CLI (or another broker) wrote, and announce it.
	if bcpErr == nil && !sameBCP(bcp, m.bcp) && bcp.UpdatedAt.After(m.bcp.UpdatedAt) {
		m.adoptBCP(c, bcp, now)
	}
	var done []string
	if rerr == nil {
		for _, r := range reqs {
			if s := m.byID[r.SlotID]; s != nil {
				m.end(c, s, api.EndAdmin, r.Reason, now)
			}
			done = append(done, r.SlotID)
		}
	}
	warn := time.Duration(m.policy.WarnMinutes) * time.Minute
	for _, s := range m.sorted() {
		if m.shared() {
			// Leases lapse in the database, for every broker's slots (a
			// dead broker's too: the Lapsed op below); idle, length and
			// hours are enforced by the broker serving the holder.
			if s.fresh || s.rec.Broker != m.cfg.Broker {
				continue
			}
		} else if !now.Before(s.rec.LeaseUntil) {
			m.end(c, s, api.EndLease, "", now)
			continue
		}
		if s.rec.State != api.SlotGranted {
			continue
		}
		reason, at := m.deadline(s)
		warnFor := warn
		if w, ok := hours[s.rec.UserID]; ok {
			switch {
			case w.Disconnect && (reason == "" || w.EndsAt.Before(at)):
				reason, at, warnFor = api.EndHours, w.EndsAt, w.Warn
			case !w.Disconnect && !s.hoursWarned && !now.Before(w.EndsAt.Add(-w.Warn)):
				// Notice only: the user is told once, the session goes on.
				s.hoursWarned = true
				c.publish(s.rec.UserID, api.EventWarning, api.SlotWarning{SlotID: s.rec.ID, Reason: api.EndHours, EndsAt: w.EndsAt})
			}
		}
		if reason == "" {
			continue
		}
		if !now.Before(at) {
			m.end(c, s, reason, "", now)
			continue
		}
		if !now.Before(at.Add(-warnFor)) && s.rec.Warned != reason {
			s.rec.Warned = reason
			c.put(s)
			c.publish(s.rec.UserID, api.EventWarning, api.SlotWarning{SlotID: s.rec.ID, Reason: reason, EndsAt: at})
		}
	}
	for id, e := range m.ended {
		if now.Sub(e.at) > time.Hour {
			delete(m.ended, id)
		}
	}
	m.promote(c, now)
	if m.shared() {
		at := now
		c.ops = append(c.ops, Op{Lapsed: &at})
	}
	t := m.commit(c)
	m.mu.Unlock()
	err := t.wait(ctx)
	if err != nil {
		return err
	}
	for _, id := range done {
		if err := m.cfg.Store.DeleteEndRequest(ctx, id); err != nil {
			return fmt.Errorf("delete end request %s: %w", id, err)
		}
	}
	return errors.Join(perr, rerr, poolErr, bcpErr)
}

func samePolicy(a, b api.SlotConfig) bool {
	return a.Cap == b.Cap && a.IdleMinutes == b.IdleMinutes && a.MaxMinutes == b.MaxMinutes && a.WarnMinutes == b.WarnMinutes &&
		a.RDP == b.RDP
}

// sorted lists live slots in request order (deterministic sweeps); call
// with m.mu held.
func (m *Manager) sorted() []*slot {
	out := make([]*slot, 0, len(m.byID))
	for _, s := range m.byID {
		if s.rec.State == api.SlotGranted {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rec.QueueSeq < out[j].rec.QueueSeq })
	out = append(out, m.queue...)
	return out
}

// deadline is the earlier of the idle and maximum-length ends of a granted
// slot ("" when the policy sets neither).
func (m *Manager) deadline(s *slot) (reason string, at time.Time) {
	if m.policy.IdleMinutes > 0 {
		reason, at = api.EndIdle, s.rec.LastActiveAt.Add(time.Duration(m.policy.IdleMinutes)*time.Minute)
	}
	if m.policy.MaxMinutes > 0 {
		maxAt := s.rec.GrantedAt.Add(time.Duration(m.policy.MaxMinutes) * time.Minute)
		if reason == "" || maxAt.Before(at) {
			reason, at = api.EndMaxLength, maxAt
		}
	}
	return reason, at
}

// End ends a slot for IT (live session or queued request).
func (m *Manager) End(ctx context.Context, actor, slotID, message string) error {
	if e := api.CheckText("reason", message, 500); e != nil {
		return e
	}
	m.mu.Lock()
	s, err := m.find("", slotID)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	now := m.now()
	c := &change{m: m}
	user := s.rec.UserID
	m.end(c, s, api.EndAdmin, message, now)
	m.promote(c, now)
	t := m.commit(c)
	m.mu.Unlock()
	if err := t.wait(ctx); err != nil {
		return err
	}
	return m.cfg.Audit.Record(ctx, audit.Event{At: now, Actor: actor, Action: "admin.session_ended", Target: slotID,
		Fields: map[string]string{"user": user, "reason": message}})
}

// RequestEnd records an end for the running broker to apply (the CLI's
// way: it shares the database, not the broker's memory).
func RequestEnd(ctx context.Context, st Store, a audit.Recorder, now time.Time, actor, slotID, message string) error {
	if e := api.CheckText("reason", message, 500); e != nil {
		return e
	}
	if err := st.AddEndRequest(ctx, EndRequest{SlotID: slotID, Actor: actor, Reason: message, At: now}); err != nil {
		return err
	}
	return a.Record(ctx, audit.Event{At: now, Actor: actor, Action: "admin.session_end_requested", Target: slotID,
		Fields: map[string]string{"reason": message}})
}

// Policy returns the cap and session policy in force.
func (m *Manager) Policy() api.SlotConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.policy
	p.LeaseSeconds = int(m.cfg.Lease / time.Second)
	p.HeartbeatSeconds = int(m.cfg.Heartbeat / time.Second)
	return p
}

// SetPolicy changes the cap or policy live. Raising the cap grants queued
// requests at once; lowering it ends no session: grants stop until the
// count is under the new cap.
func (m *Manager) SetPolicy(ctx context.Context, actor string, up api.SlotConfigUpdate) (api.SlotConfig, error) {
	m.mu.Lock()
	old := m.policy
	p := applyUpdate(old, up)
	if err := validateConfig(p); err != nil {
		m.mu.Unlock()
		return api.SlotConfig{}, err
	}
	now := m.now()
	p.UpdatedAt, p.UpdatedBy = now, actor
	m.policy = p
	c := &change{m: m}
	pc := p
	c.ops = append(c.ops, Op{Config: &pc})
	// A new cap changes every waiting user's estimate.
	for _, s := range m.queue {
		s.pos = 0
	}
	m.promote(c, now)
	t := m.commit(c)
	m.mu.Unlock()
	if err := t.wait(ctx); err != nil {
		return api.SlotConfig{}, err
	}
	fields := map[string]string{}
	for _, f := range []struct {
		name     string
		old, new int
	}{{"cap", old.Cap, p.Cap}, {"idle_minutes", old.IdleMinutes, p.IdleMinutes},
		{"max_minutes", old.MaxMinutes, p.MaxMinutes}, {"warn_minutes", old.WarnMinutes, p.WarnMinutes}} {
		if f.old != f.new {
			fields[f.name] = strconv.Itoa(f.old) + "→" + strconv.Itoa(f.new)
		}
	}
	if old.RDP != p.RDP {
		fields["rdp"] = old.RDP.String() + "→" + p.RDP.String()
	}
	if err := m.cfg.Audit.Record(ctx, audit.Event{At: now, Actor: actor, Action: "admin.slot_policy_changed", Fields: fields}); err != nil {
		return api.SlotConfig{}, err
	}
	return m.Policy(), nil
}

// applyUpdate returns p with the fields up sets (the API's PATCH and the
// CLI share it).
func applyUpdate(p api.SlotConfig, up api.SlotConfigUpdate) api.SlotConfig {
	for _, f := range []struct {
		v   *int
		dst *int
	}{{up.Cap, &p.Cap}, {up.IdleMinutes, &p.IdleMinutes}, {up.MaxMinutes, &p.MaxMinutes}, {up.WarnMinutes, &p.WarnMinutes}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if up.RDP != nil {
		p.RDP = *up.RDP
	}
	return p
}

// SavePolicy validates and writes a policy change straight to the store
// (the CLI); a running broker picks it up on its next sweep.
func SavePolicy(ctx context.Context, st Store, a audit.Recorder, now time.Time, actor string, def api.SlotConfig, up api.SlotConfigUpdate) (api.SlotConfig, error) {
	p, err := st.LoadConfig(ctx)
	if errors.Is(err, ErrNoConfig) {
		p = def
	} else if err != nil {
		return p, err
	}
	p = applyUpdate(p, up)
	if err := validateConfig(p); err != nil {
		return p, err
	}
	p.UpdatedAt, p.UpdatedBy = now, actor
	if err := st.ApplySlots(ctx, []Op{{Config: &p}}); err != nil {
		return p, err
	}
	return p, a.Record(ctx, audit.Event{At: now, Actor: actor, Action: "admin.slot_policy_changed",
		Fields: map[string]string{"cap": strconv.Itoa(p.Cap), "idle_minutes": strconv.Itoa(p.IdleMinutes),
			"max_minutes": strconv.Itoa(p.MaxMinutes), "warn_minutes": strconv.Itoa(p.WarnMinutes), "rdp": p.RDP.String()}})
}

// List returns live sessions and the queue, for IT.
func (m *Manager) List() api.SessionList {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := api.SessionList{Cap: m.capLocked(), Used: m.granted, Queued: len(m.queue), BCP: m.bcpView(),
		Sessions: []api.Slot{}, Queue: []api.Slot{}}
	for _, s := range m.sorted() {
		if s.rec.State == api.SlotGranted {
			out.Sessions = append(out.Sessions, m.view(s))
		} else {
			out.Queue = append(out.Queue, m.view(s))
		}
	}
	return out
}

// RefreshPool reloads the shared PCs (after IT changed terminals) and
// grants waiting pool users a PC that became available.
func (m *Manager) RefreshPool(ctx context.Context) error {
	pool, err := m.cfg.Terminals.Pool(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.pool = pool
	c := &change{m: m}
	m.promote(c, m.now())
	t := m.commit(c)
	m.mu.Unlock()
	if m.shared() {
		// The database grants; a batch of its own lets it see the PC.
		m.j.resync()
	}
	return t.wait(ctx)
}
