package server

import (
	"errors"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// slotsDomain hands out the concurrent sessions the cap allows.
// registerSlotGauges exports the cap, the live count and the queue.
func (s *Server) registerSlotGauges() {
	for _, g := range []struct {
		name, help string
		v          func(cap, used, queued int) int
	}{
		{"zaitaku_slots_cap", "Concurrent sessions IT allows.", func(c, _, _ int) int { return c }},
		{"zaitaku_slots_used", "Granted slots (live sessions).", func(_, u, _ int) int { return u }},
		{"zaitaku_slots_queued", "Requests waiting for a slot.", func(_, _, q int) int { return q }},
	} {
		s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help},
			func() float64 { return float64(g.v(s.slots.Counts())) }))
	}
}

func (s *Server) slotRoutes() []route {
	S, A := api.RoleStaff, api.RoleAdmin
	return []route{
		{method: "POST", path: "/v1/slots", role: S, handle: s.requestSlot, in: api.SlotRequest{}, out: api.Slot{},
			summary: "Request a connection slot: granted at once under the cap, else queued (first come, first served) with position and estimate. Asking again returns the caller's slot."},
		{method: "GET", path: "/v1/slots/mine", role: S, handle: s.mySlot, out: api.Slot{},
			summary: "The caller's slot, granted or queued."},
		{method: "POST", path: "/v1/slots/{id}/heartbeat", role: S, handle: s.heartbeat, in: api.HeartbeatRequest{}, out: api.Slot{},
			summary: "Renew the caller's slot lease; report activity and tunnel bytes for the idle timeout."},
		{method: "DELETE", path: "/v1/slots/{id}", role: S, handle: s.releaseSlot,
			summary: "End the caller's session or leave the queue."},
		{method: "GET", path: "/v1/status", role: S, handle: s.status, out: api.Status{},
			summary: "Free slots of the cap, the caller's office PC and slot."},
		{method: "GET", path: "/admin/v1/sessions", role: A, also: readersAndDept, handle: s.listSessions, out: api.SessionList{},
			summary: "The live view in one call: sessions (user, name, department, office PC, since, bytes up and down), the queue in service order, the cap in force, the used and queued counts, and BCP mode."},
		{method: "POST", path: "/admin/v1/sessions/{id}/end", role: A, also: deptAdmins, handle: s.endSession, in: api.EndSessionRequest{},
			summary: "End a live session or remove a queued request; the user is told, with the reason."},
		{method: "GET", path: "/admin/v1/slots/config", role: A, also: readers, handle: s.getSlotConfig, out: api.SlotConfig{},
			summary: "The concurrency cap and session policy (idle timeout, maximum length, warning)."},
		{method: "PATCH", path: "/admin/v1/slots/config", role: A, handle: s.setSlotConfig, in: api.SlotConfigUpdate{}, out: api.SlotConfig{},
			summary: "Change the cap or session policy live; raising the cap grants queued requests at once."},
	}
}

// decodeOptional decodes a body that may be absent.
func (c *call) decodeOptional(v any) error {
	if c.R.ContentLength == 0 {
		return nil
	}
	return c.Decode(v)
}

func (s *Server) requestSlot(c *call) (any, error) {
	var req api.SlotRequest
	if err := c.decodeOptional(&req); err != nil {
		return nil, err
	}
	if len(req.Device) > 100 {
		return nil, api.Err(api.CodeValidation, "device: at most 100 characters")
	}
	// The paired PC is read once, for the segment check and the slot.
	pc, pcErr := s.terms.ForUser(c.R.Context(), c.P.User.ID)
	if err := s.checkReachPaired(c, "slot", pc, pcErr); err != nil {
		return nil, err
	}
	return s.slots.AcquirePaired(c.R.Context(), c.holder(), req.Device, pc, pcErr)
}

func (s *Server) mySlot(c *call) (any, error) {
	return s.slots.Mine(c.P.User.ID)
}

func (s *Server) heartbeat(c *call) (any, error) {
	var req api.HeartbeatRequest
	if err := c.decodeOptional(&req); err != nil {
		return nil, err
	}
	return s.slots.Heartbeat(c.R.Context(), c.holder(), c.R.PathValue("id"), req)
}

func (s *Server) releaseSlot(c *call) (any, error) {
	return noContent, s.slots.Release(c.R.Context(), c.holder(), c.R.PathValue("id"))
}

func (s *Server) status(c *call) (any, error) {
	cp, used, queued := s.slots.Counts()
	st := api.Status{SlotsCap: cp, SlotsUsed: used, SlotsFree: max(cp-used, 0), Queued: queued, BCP: s.slots.Notice()}
	if sl, err := s.slots.Mine(c.P.User.ID); err == nil {
		st.Slot = &sl
		st.Terminal = sl.Terminal
	}
	if st.Terminal == nil {
		t, err := s.terms.ForUser(c.R.Context(), c.P.User.ID)
		switch {
		case err == nil:
			t = s.withUse(t)
			st.Terminal = &api.PairedTerminal{ID: t.ID, Name: t.Name, State: t.State, SeenAt: t.SeenAt}
		case errors.Is(err, slots.ErrNoTerminal):
			if s.slots.PoolSize() > 0 {
				st.Terminal = &api.PairedTerminal{Pool: true, State: api.TerminalUnknown}
			}
		default:
			return nil, err
		}
	}
	return st, nil
}

func (s *Server) listSessions(c *call) (any, error) {
	l := s.slots.List()
	us, err := s.auth.ListUsers(c.R.Context(), "")
	if err != nil {
		return nil, err
	}
	byID := make(map[string]api.User, len(us))
	for _, u := range us {
		byID[u.ID] = u
	}
	_, limited := auth.DepartmentLimit(c.R.Context())
	for _, list := range []*[]api.Slot{&l.Sessions, &l.Queue} {
		if limited {
			// ListUsers gave only the department's own staff.
			*list = slices.DeleteFunc(*list, func(sl api.Slot) bool { _, ok := byID[sl.UserID]; return !ok })
		}
		for i := range *list {
			u := byID[(*list)[i].UserID]
			(*list)[i].UserName, (*list)[i].Department = u.Name, u.Department
		}
	}
	return l, nil
}

func (s *Server) endSession(c *call) (any, error) {
	var req api.EndSessionRequest
	if err := c.decodeOptional(&req); err != nil {
		return nil, err
	}
	if _, limited := auth.DepartmentLimit(c.R.Context()); limited {
		if err := s.slotInScope(c, c.R.PathValue("id")); err != nil {
			return nil, err
		}
	}
	return noContent, s.slots.End(c.R.Context(), c.P.User.ID, c.R.PathValue("id"), req.Reason)
}

func (s *Server) getSlotConfig(c *call) (any, error) {
	return s.slots.Policy(), nil
}

func (s *Server) setSlotConfig(c *call) (any, error) {
	var req api.SlotConfigUpdate
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.slots.SetPolicy(c.R.Context(), c.P.User.ID, req)
}

// slotInScope answers for another department's session as for one that
// does not exist.
func (s *Server) slotInScope(c *call, slotID string) error {
	l := s.slots.List()
	for _, sl := range append(l.Sessions, l.Queue...) {
		if sl.ID != slotID {
			continue
		}
		if _, err := s.auth.GetUser(c.R.Context(), sl.UserID); err != nil {
			if e := api.AsError(err); e != nil && e.Code == api.CodeNotFound {
				return api.Err(api.CodeSlotNotFound)
			}
			return err
		}
	}
	return nil // unknown IDs get slots' own answer
}

// holder is the caller as a slot sees it: user, sign-in and laptop.
func (c *call) holder() slots.Holder {
	return slots.Holder{UserID: c.P.User.ID, SessionID: c.P.SessionID, DeviceID: c.P.DeviceID,
		Department: c.P.User.Department, Roles: c.P.User.Roles}
}
