// BCP mode (業務継続モード): in a disaster IT raises the cap to a figure
// configured beforehand and lets listed roles or departments (the crisis
// management section, supervisors) jump the queue. A priority request is
// served before every ordinary one waiting; among themselves priority
// requests and ordinary requests each keep their arrival order. Switching
// needs a reason, is audited and is announced to every running app.

package slots

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Person is what BCP priority needs of a member of staff.
type Person struct {
	Department string
	Roles      []api.Role
}

// People looks up staff for the requests reloaded after a restart (a live
// request carries its holder's department and roles).
type People interface {
	Person(ctx context.Context, userID string) (Person, error)
}

// Broadcaster announces to every running app (the event hub).
type Broadcaster interface {
	Broadcast(typ string, data any)
}

// The roles BCP mode may favour.
var bcpRoles = []api.Role{api.RoleStaff, api.RoleSupervisor, api.RoleAdmin, api.RoleAuditor, api.RoleDeptAdmin}

func validateBCP(b api.BCP) error {
	switch {
	case b.Cap < 0 || b.Cap > MaxCap:
		return api.Errf(api.CodeValidation, "cap: between 0 and %d", MaxCap)
	case len(b.Departments) > api.BCPMaxDepartments:
		return api.Errf(api.CodeValidation, "departments: at most %d", api.BCPMaxDepartments)
	case len(b.Roles) > len(bcpRoles):
		return api.Errf(api.CodeValidation, "roles: at most %d", len(bcpRoles))
	}
	for _, r := range b.Roles {
		if !slices.Contains(bcpRoles, r) {
			return api.Errf(api.CodeValidation, "roles: %q is not one of staff, supervisor, admin, auditor, dept_admin", r)
		}
	}
	for _, d := range b.Departments {
		if e := api.CheckText("departments", d, 100); e != nil {
			return e
		}
		if strings.TrimSpace(d) == "" {
			return api.Err(api.CodeValidation, "departments: no empty names")
		}
	}
	return nil
}

// applyBCPUpdate returns b with the fields up sets.
func applyBCPUpdate(b api.BCP, up api.BCPConfigUpdate) api.BCP {
	if up.Cap != nil {
		b.Cap = *up.Cap
	}
	if up.Roles != nil {
		b.Roles = slices.Clone(*up.Roles)
	}
	if up.Departments != nil {
		b.Departments = nil
		for _, d := range *up.Departments {
			b.Departments = append(b.Departments, strings.TrimSpace(d))
		}
	}
	return b
}

// switchBCP turns b on or off with a reason, or says why not.
func switchBCP(b api.BCP, on bool, reason string, now time.Time) (api.BCP, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return b, api.Err(api.CodeValidation, "reason: required (shown to staff and recorded), e.g. 震度6弱の地震のため")
	}
	if e := api.CheckText("reason", reason, api.BCPMaxReason); e != nil {
		return b, e
	}
	if b.Active == on {
		return b, api.Err(api.CodeBCPNoChange)
	}
	if on && b.Cap <= 0 {
		return b, api.Err(api.CodeBCPNotConfigured)
	}
	b.Active, b.Reason, b.Since = on, reason, now
	return b, nil
}

// bcpAudit is the audit event of a BCP change.
func bcpAudit(old, b api.BCP, actor string, now time.Time) audit.Event {
	action := "admin.bcp_configured"
	switch {
	case b.Active && !old.Active:
		action = "admin.bcp_on"
	case !b.Active && old.Active:
		action = "admin.bcp_off"
	}
	roles := make([]string, len(b.Roles))
	for i, r := range b.Roles {
		roles[i] = string(r)
	}
	f := map[string]string{"cap": strconv.Itoa(b.Cap), "roles": strings.Join(roles, ","),
		"departments": strings.Join(b.Departments, ",")}
	if action != "admin.bcp_configured" {
		f["reason"] = b.Reason
	}
	return audit.Event{At: now, Actor: actor, Action: action, Target: "bcp", Fields: f}
}

// BCP returns BCP mode's state with the caps in force.
func (m *Manager) BCP() api.BCP {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bcpView()
}

func (m *Manager) bcpView() api.BCP {
	b := m.bcp
	b.Roles, b.Departments = slices.Clone(b.Roles), slices.Clone(b.Departments)
	if b.Roles == nil {
		b.Roles = []api.Role{}
	}
	if b.Departments == nil {
		b.Departments = []string{}
	}
	b.NormalCap, b.EffectiveCap = m.policy.Cap, m.capLocked()
	return b
}

// bcpNotice is what apps are told; call with m.mu held.
func (m *Manager) bcpNotice() api.BCPNotice {
	if !m.bcp.Active {
		return api.BCPNotice{Reason: m.bcp.Reason, Since: m.bcp.Since}
	}
	return api.BCPNotice{Active: true, Reason: m.bcp.Reason, Since: m.bcp.Since, Cap: m.capLocked()}
}

// Notice returns what an app is told of BCP mode (nil while it is off).
func (m *Manager) Notice() *api.BCPNotice {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.bcp.Active {
		return nil
	}
	n := m.bcpNotice()
	return &n
}

// capLocked is the cap in force: BCP mode's while it is on, unless the
// normal one is higher. Call with m.mu held.
func (m *Manager) capLocked() int {
	if m.bcp.Active && m.bcp.Cap > m.policy.Cap {
		return m.bcp.Cap
	}
	return m.policy.Cap
}

// priority reports whether s is served first; call with m.mu held.
func (m *Manager) priority(s *slot) bool {
	if !m.bcp.Active {
		return false
	}
	if s.who.Department != "" && slices.Contains(m.bcp.Departments, s.who.Department) {
		return true
	}
	for _, r := range s.who.Roles {
		if slices.Contains(m.bcp.Roles, r) {
			return true
		}
	}
	return false
}

// enqueue adds s to the queue in service order: a priority request after
// the priority requests already waiting, an ordinary one at the end.
// Call with m.mu held.
func (m *Manager) enqueue(s *slot) {
	if !m.priority(s) {
		m.queue = append(m.queue, s)
		return
	}
	i := 0
	for i < len(m.queue) && m.priority(m.queue[i]) {
		i++
	}
	m.queue = slices.Insert(m.queue, i, s)
}

// reorder puts the queue in service order after BCP mode changed.
// Call with m.mu held.
func (m *Manager) reorder() {
	sort.SliceStable(m.queue, func(i, j int) bool {
		pi, pj := m.priority(m.queue[i]), m.priority(m.queue[j])
		if pi != pj {
			return pi
		}
		return queueKey(m.queue[i]) < queueKey(m.queue[j])
	})
	for _, s := range m.queue {
		s.pos = 0 // positions and estimates change
	}
}

// queueKey is a slot's place in arrival order; a request the shared
// ledger has not numbered yet came after every numbered one.
func queueKey(s *slot) int64 {
	if s.fresh {
		return math.MaxInt64
	}
	return s.rec.QueueSeq
}

// adoptBCP makes b the state in force: the queue is reordered, grants
// follow a raised cap, and a switch is announced to every running app.
// Call with m.mu held, then commit c.
func (m *Manager) adoptBCP(c *change, b api.BCP, now time.Time) {
	switched := b.Active != m.bcp.Active
	m.bcp = b
	m.reorder()
	m.promote(c, now)
	if switched && m.cfg.Broadcast != nil {
		n, bc := m.bcpNotice(), m.cfg.Broadcast
		c.then(func() { bc.Broadcast(api.EventBCP, n) })
	}
}

// changeBCP applies fn to BCP mode's state, stores and adopts it, and
// audits the change.
func (m *Manager) changeBCP(ctx context.Context, actor string, fn func(api.BCP, time.Time) (api.BCP, error)) (api.BCP, error) {
	m.mu.Lock()
	now := m.now()
	old := m.bcp
	b, err := fn(old, now)
	if err == nil {
		err = validateBCP(b)
	}
	if err != nil {
		m.mu.Unlock()
		return api.BCP{}, err
	}
	b.UpdatedAt, b.UpdatedBy = now, actor
	c := &change{m: m}
	stored := b
	c.ops = append(c.ops, Op{BCP: &stored})
	m.adoptBCP(c, b, now)
	t := m.commit(c)
	m.mu.Unlock()
	if err := t.wait(ctx); err != nil {
		return api.BCP{}, err
	}
	if err := m.cfg.Audit.Record(ctx, bcpAudit(old, b, actor, now)); err != nil {
		return api.BCP{}, err
	}
	return m.BCP(), nil
}

// SetBCP switches BCP mode on or off with a reason.
func (m *Manager) SetBCP(ctx context.Context, actor string, on bool, reason string) (api.BCP, error) {
	return m.changeBCP(ctx, actor, func(b api.BCP, now time.Time) (api.BCP, error) { return switchBCP(b, on, reason, now) })
}

// ConfigureBCP sets BCP mode's cap and priority lists; while it is on
// they apply at once.
func (m *Manager) ConfigureBCP(ctx context.Context, actor string, up api.BCPConfigUpdate) (api.BCP, error) {
	return m.changeBCP(ctx, actor, func(b api.BCP, _ time.Time) (api.BCP, error) { return applyBCPUpdate(b, up), nil })
}

// SaveBCP changes BCP mode straight in the store (the CLI on the data
// directory); a running broker adopts and announces it on its next sweep.
// on is nil for a configuration change.
func SaveBCP(ctx context.Context, st Store, a audit.Recorder, now time.Time, actor string, on *bool, reason string, up api.BCPConfigUpdate) (api.BCP, error) {
	old, err := st.LoadBCP(ctx)
	if err != nil {
		return api.BCP{}, fmt.Errorf("load bcp mode: %w", err)
	}
	b := applyBCPUpdate(old, up)
	if on != nil {
		if b, err = switchBCP(b, *on, reason, now); err != nil {
			return api.BCP{}, err
		}
	}
	if err := validateBCP(b); err != nil {
		return api.BCP{}, err
	}
	b.UpdatedAt, b.UpdatedBy = now, actor
	if err := st.ApplySlots(ctx, []Op{{BCP: &b}}); err != nil {
		return api.BCP{}, err
	}
	return b, a.Record(ctx, bcpAudit(old, b, actor, now))
}

// sameBCP reports whether a and b hold the same settings.
func sameBCP(a, b api.BCP) bool {
	return a.Active == b.Active && a.Cap == b.Cap && a.Reason == b.Reason && a.Since.Equal(b.Since) &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Departments, b.Departments)
}

// person is the holder's department and roles, for BCP priority.
func (h Holder) person() Person {
	return Person{Department: h.Department, Roles: slices.Clone(h.Roles)}
}
