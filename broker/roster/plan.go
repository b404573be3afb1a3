package roster

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// plan is what a roster does to the data it was computed against: the
// report, and the writes that make it so.
type plan struct {
	lines    []api.RosterLine
	problems []api.RosterProblem

	newUsers, updUsers []auth.UserRecord
	detach             []api.Terminal // written first, without their user, so pairings can move
	newPCs, updPCs     []api.Terminal
	disabled           []string
}

func (p *plan) writes() int {
	return len(p.newUsers) + len(p.updUsers) + len(p.detach) + len(p.newPCs) + len(p.updPCs)
}

func (p *plan) pcsChanged() bool { return len(p.detach)+len(p.newPCs)+len(p.updPCs) > 0 }

type planOptions struct {
	disableMissing bool
	actor          string
	now            time.Time
	passwordHash   string // of accounts the roster adds
}

// makePlan compares the roster with the users and office PCs as they
// are. Under a department limit (ctx) every line must be of that
// department and every account and PC it touches in scope.
func makePlan(ctx context.Context, f *File, users []auth.UserRecord, pcs []api.Terminal, o planOptions) *plan {
	p := &plan{}
	byID := make(map[string]*auth.UserRecord, len(users))
	for i := range users {
		byID[users[i].ID] = &users[i]
	}
	pcByID := make(map[string]*api.Terminal, len(pcs))
	pcOfUser := make(map[string]string, len(pcs))
	for i := range pcs {
		pcByID[pcs[i].ID] = &pcs[i]
		if pcs[i].UserID != "" {
			pcOfUser[pcs[i].UserID] = pcs[i].ID
		}
	}
	detached := map[string]bool{}
	listed := make(map[string]bool, len(f.Entries))
	for _, e := range f.Entries {
		listed[e.StaffID] = true
		l := api.RosterLine{Line: e.Line, StaffID: e.StaffID, Name: e.Name}
		if !auth.DepartmentInScope(ctx, e.Department) {
			d, _ := auth.DepartmentLimit(ctx)
			p.problems = append(p.problems, f.problem(e.Line, fDepartment,
				fmt.Sprintf("%s: you manage %s only; a roster of other departments is loaded by central IT", e.Department, d)))
			continue
		}
		u := byID[e.StaffID]
		if u == nil {
			l.Kind = api.RosterAdded
			l.Changes = append(l.Changes, "department: "+e.Department)
			l.Note = "no password yet: issue a temporary one with reset-password"
			p.newUsers = append(p.newUsers, auth.UserRecord{User: api.User{ID: e.StaffID, Name: e.Name, Kana: e.Kana,
				Department: e.Department, Roles: e.Roles, Email: e.Email, MustChangePassword: true, CreatedAt: o.now},
				PasswordHash: o.passwordHash, UpdatedAt: o.now})
		} else {
			if !auth.InScope(ctx, u.User) {
				p.problems = append(p.problems, f.problem(e.Line, fStaffID,
					fmt.Sprintf("%s is managed by central IT (a privileged account or another department): ask them", e.StaffID)))
				continue
			}
			next := *u
			diff := func(what string, cur *string, v string) {
				if *cur != v {
					l.Changes = append(l.Changes, fmt.Sprintf("%s: %s → %s", what, orNone(*cur), orNone(v)))
					*cur = v
				}
			}
			diff("department", &next.Department, e.Department)
			diff("name", &next.Name, e.Name)
			if f.Has[fKana] {
				diff("kana", &next.Kana, e.Kana)
			}
			if f.Has[fEmail] {
				diff("e-mail", &next.Email, e.Email)
			}
			if f.Has[fRole] {
				// The roster speaks for staff and supervisor; what central
				// IT granted by hand stays.
				roles := slices.DeleteFunc(slices.Clone(u.Roles), func(r api.Role) bool {
					return r == api.RoleStaff || r == api.RoleSupervisor
				})
				roles = slices.Compact(slices.Sorted(slices.Values(append(roles, e.Roles...))))
				if !slices.Equal(roles, u.Roles) {
					l.Changes = append(l.Changes, fmt.Sprintf("roles: %s → %s", roleList(u.Roles), roleList(roles)))
					next.Roles = roles
				}
			}
			switch {
			case next.Department != u.Department:
				l.Kind = api.RosterMoved
			case len(l.Changes) > 0:
				l.Kind = api.RosterChanged
			default:
				l.Kind = api.RosterUnchanged
			}
			if len(l.Changes) > 0 {
				next.UpdatedAt = o.now
				p.updUsers = append(p.updUsers, next)
			}
			if u.Disabled {
				l.Note = "the account is disabled: enable it by hand if they are back"
			}
		}
		if e.PC != "" {
			if msg := p.planPC(ctx, f, e, &l, pcByID, pcOfUser, detached, o.now); msg != "" {
				p.problems = append(p.problems, f.problem(e.Line, fPC, msg))
				continue
			}
			if l.Kind == api.RosterUnchanged && len(l.Changes) > 0 {
				l.Kind = api.RosterChanged
			}
		}
		p.lines = append(p.lines, l)
	}
	if o.disableMissing {
		var gone []api.RosterLine
		for i := range users {
			u := users[i]
			if listed[u.ID] || u.Disabled || u.ID == o.actor || !auth.InScope(ctx, u.User) ||
				// IT and auditors are seldom on the personnel roster and
				// must not lock themselves out by loading it.
				u.HasRole(api.RoleAdmin) || u.HasRole(api.RoleAuditor) {
				continue
			}
			u.Disabled, u.UpdatedAt = true, o.now
			p.updUsers = append(p.updUsers, u)
			p.disabled = append(p.disabled, u.ID)
			gone = append(gone, api.RosterLine{StaffID: u.ID, Name: u.Name, Kind: api.RosterDisabled,
				Changes: []string{"disabled (not in the roster); sessions end"}})
		}
		sort.Slice(gone, func(i, j int) bool { return gone[i].StaffID < gone[j].StaffID })
		p.lines = append(p.lines, gone...)
	}
	return p
}

// planPC pairs the line's office PC with its member of staff, creating
// or updating it; the PC the person had before and the person the PC
// had before are unpaired first.
func (p *plan) planPC(ctx context.Context, f *File, e Entry, l *api.RosterLine, pcByID map[string]*api.Terminal,
	pcOfUser map[string]string, detached map[string]bool, now time.Time) string {
	cur := pcByID[e.PC]
	var next api.Terminal
	if cur == nil {
		addr := e.Address
		if addr == "" {
			addr = e.PC // the PC's name, resolved by the LAN's DNS
		}
		next = api.Terminal{ID: e.PC, Name: e.PCName, Address: addr, MAC: e.MAC, Department: e.Department,
			UserID: e.StaffID, Segment: e.Segment, State: api.TerminalUnknown, CreatedAt: now, UpdatedAt: now}
	} else {
		if !auth.DepartmentInScope(ctx, cur.Department) {
			return fmt.Sprintf("office PC %s is managed by central IT or another department: ask them", e.PCName)
		}
		next = *cur
		next.Department, next.UserID, next.Pool = e.Department, e.StaffID, false
		if e.Address != "" {
			next.Address = e.Address
		}
		if e.MAC != "" {
			next.MAC = e.MAC
		}
		if e.Segment != "" {
			next.Segment = e.Segment
		}
	}
	if _, limited := auth.DepartmentLimit(ctx); limited && e.Segment != "" &&
		(cur == nil && e.Segment != api.SegmentLGWAN || cur != nil && cur.Segment != e.Segment) {
		return "a PC's network segment is central IT's to set: leave the segment column out, or ask central IT"
	}
	if err := checkPC(&next); err != nil {
		return err.Error()
	}
	if old, ok := pcOfUser[e.StaffID]; ok && old != e.PC {
		l.Changes = append(l.Changes, fmt.Sprintf("office PC: %s → %s", old, e.PC))
		p.unpair(pcByID[old], pcOfUser, detached)
	} else if !ok {
		l.Changes = append(l.Changes, "office PC: "+orNone("")+" → "+e.PC)
	}
	if cur != nil && cur.UserID != "" && cur.UserID != e.StaffID {
		l.Note = strings.TrimSpace(l.Note + " office PC " + e.PC + " was paired with " + cur.UserID)
		p.unpair(cur, pcOfUser, detached)
	}
	switch {
	case cur == nil:
		p.newPCs = append(p.newPCs, next)
	case !samePC(*cur, next):
		if cur.Department != next.Department {
			l.Changes = append(l.Changes, fmt.Sprintf("%s department: %s → %s", e.PC, orNone(cur.Department), next.Department))
		}
		if cur.Address != next.Address {
			l.Changes = append(l.Changes, fmt.Sprintf("%s address: %s → %s", e.PC, cur.Address, next.Address))
		}
		if cur.MAC != next.MAC {
			l.Changes = append(l.Changes, fmt.Sprintf("%s MAC: %s → %s", e.PC, orNone(cur.MAC), next.MAC))
		}
		if cur.Segment != next.Segment {
			l.Changes = append(l.Changes, fmt.Sprintf("%s segment: %s → %s", e.PC, cur.Segment, next.Segment))
		}
		next.UpdatedAt = now
		p.updPCs = append(p.updPCs, next)
	}
	pcOfUser[e.StaffID] = e.PC
	cp := next
	pcByID[e.PC] = &cp
	return ""
}

// unpair takes a PC from its user before anyone is paired with it: a
// user is paired with one PC at a time.
func (p *plan) unpair(t *api.Terminal, pcOfUser map[string]string, detached map[string]bool) {
	if t == nil || t.UserID == "" {
		return
	}
	delete(pcOfUser, t.UserID)
	t.UserID = ""
	if !detached[t.ID] {
		detached[t.ID] = true
		p.detach = append(p.detach, *t)
	}
}

func samePC(a, b api.Terminal) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func roleList(rs []api.Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ",")
}

// report counts the plan's lines.
func (p *plan) report(f *File, effective string, disableMissing bool) api.RosterReport {
	r := api.RosterReport{Effective: effective, DisableMissing: disableMissing, Lines: p.lines, Problems: p.problems}
	if r.Lines == nil {
		r.Lines = []api.RosterLine{}
	}
	if r.Problems == nil {
		r.Problems = []api.RosterProblem{}
	}
	if f != nil {
		r.Encoding, r.IgnoredColumns = f.Encoding, f.Ignored
	}
	for _, l := range p.lines {
		switch l.Kind {
		case api.RosterAdded:
			r.Counts.Added++
		case api.RosterMoved:
			r.Counts.Moved++
		case api.RosterChanged:
			r.Counts.Changed++
		case api.RosterUnchanged:
			r.Counts.Unchanged++
		case api.RosterDisabled:
			r.Counts.Disabled++
		}
	}
	return r
}
