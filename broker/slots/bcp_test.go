package slots_test

import (
	"context"
	"sync"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// directory is the staff directory BCP priority reads after a restart.
type directory map[string]slots.Person

func (d directory) Person(_ context.Context, id string) (slots.Person, error) { return d[id], nil }

// broadcasts records what is announced to every app.
type broadcasts struct {
	mu  sync.Mutex
	got []api.BCPNotice
}

func (b *broadcasts) Broadcast(typ string, data any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if typ == api.EventBCP {
		b.got = append(b.got, data.(api.BCPNotice))
	}
}

func (b *broadcasts) all() []api.BCPNotice {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]api.BCPNotice(nil), b.got...)
}

const crisisDept = "危機管理課"

var staffDir = directory{
	"p0": {Department: crisisDept, Roles: []api.Role{api.RoleStaff}},
	"p1": {Department: "福祉課", Roles: []api.Role{api.RoleStaff, api.RoleSupervisor}},
	"p2": {Department: crisisDept, Roles: []api.Role{api.RoleStaff}},
}

func asPerson(user string) slots.Holder {
	h := as(user)
	p, ok := staffDir[user]
	if !ok {
		p = slots.Person{Department: "税務課", Roles: []api.Role{api.RoleStaff}}
	}
	h.Department, h.Roles = p.Department, p.Roles
	return h
}

func (e *env) acquireAs(user string) api.Slot {
	e.t.Helper()
	s, err := e.m.Acquire(context.Background(), asPerson(user), "laptop")
	if err != nil {
		e.t.Fatalf("acquire %s: %v", user, err)
	}
	return s
}

// queueOrder is the queue as IT's live view shows it, in service order.
func queueOrder(m *slots.Manager) []string {
	var out []string
	for _, s := range m.List().Queue {
		out = append(out, s.UserID)
	}
	return out
}

func wantOrder(t *testing.T, what string, m *slots.Manager, want ...string) {
	t.Helper()
	got := queueOrder(m)
	if len(got) != len(want) {
		t.Fatalf("%s: queue %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: queue %v, want %v", what, got, want)
		}
	}
	for i, s := range m.List().Queue {
		if s.Position != i+1 {
			t.Fatalf("%s: %s at position %d, want %d", what, s.UserID, s.Position, i+1)
		}
	}
}

func wantState(t *testing.T, m *slots.Manager, user, state string) {
	t.Helper()
	s, err := m.Mine(user)
	if err != nil || s.State != state {
		t.Fatalf("%s: %+v, %v; want %s", user, s, err, state)
	}
}

func TestBCPPriorityServedBeforeEarlierQueuers(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 2})
	bc := &broadcasts{}
	e.m.Close()
	e.people, e.bc = staffDir, bc
	e.open(api.SlotConfig{Cap: 2})
	ctx := context.Background()

	// The cap is full; ordinary staff and one of the crisis section wait.
	e.acquireAs("u1")
	e.acquireAs("u2")
	e.acquireAs("o1")
	e.acquireAs("p0")
	e.acquireAs("o2")
	wantOrder(t, "before BCP mode", e.m, "o1", "p0", "o2")

	if _, err := e.m.SetBCP(ctx, "it", true, "震度6弱の地震のため"); api.AsError(err) == nil || api.AsError(err).Code != api.CodeBCPNotConfigured {
		t.Fatalf("on before configuring: %v, want %s", err, api.CodeBCPNotConfigured)
	}
	if _, err := e.m.ConfigureBCP(ctx, "it", api.BCPConfigUpdate{Cap: ptr(3), Roles: &[]api.Role{api.RoleSupervisor},
		Departments: &[]string{crisisDept}}); err != nil {
		t.Fatal(err)
	}
	wantOrder(t, "configured, still off", e.m, "o1", "p0", "o2")
	if _, err := e.m.SetBCP(ctx, "it", true, " "); api.AsError(err) == nil || api.AsError(err).Code != api.CodeValidation {
		t.Fatalf("on without a reason: %v, want %s", err, api.CodeValidation)
	}
	b, err := e.m.SetBCP(ctx, "it", true, "震度6弱の地震のため")
	if err != nil {
		t.Fatal(err)
	}
	if !b.Active || b.EffectiveCap != 3 || b.NormalCap != 2 {
		t.Fatalf("bcp on: %+v", b)
	}
	// The raised cap's one free slot goes to the priority request, though
	// o1 came first.
	wantState(t, e.m, "p0", api.SlotGranted)
	wantOrder(t, "on", e.m, "o1", "o2")
	if cp, used, _ := e.m.Counts(); cp != 3 || used != 3 {
		t.Fatalf("counts %d/%d, want 3 of 3", used, cp)
	}
	if _, err := e.m.SetBCP(ctx, "it", true, "again"); api.AsError(err) == nil || api.AsError(err).Code != api.CodeBCPNoChange {
		t.Fatalf("on twice: %v, want %s", err, api.CodeBCPNoChange)
	}

	// Priority staff who come later (a supervisor, the crisis section)
	// go before the ordinary staff already waiting, in their own order.
	e.acquireAs("o3")
	if s := e.acquireAs("p1"); s.Position != 1 {
		t.Fatalf("supervisor p1 at position %d, want 1", s.Position)
	}
	if s := e.acquireAs("p2"); s.Position != 2 {
		t.Fatalf("crisis section p2 at position %d, want 2", s.Position)
	}
	wantOrder(t, "priority arrivals", e.m, "p1", "p2", "o1", "o2", "o3")

	// A restarted broker keeps the mode and the order (the directory
	// gives the reloaded requests' departments and roles).
	e.m.Close()
	e.open(api.SlotConfig{Cap: 2})
	wantOrder(t, "after a restart", e.m, "p1", "p2", "o1", "o2", "o3")

	u1, _ := e.m.Mine("u1")
	if err := e.m.Release(ctx, as("u1"), u1.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.m, "p1", api.SlotGranted)
	wantState(t, e.m, "o1", api.SlotQueued)
	wantOrder(t, "a slot freed", e.m, "p2", "o1", "o2", "o3")

	// Off: arrival order and the normal cap return; nobody is cut off.
	if _, err := e.m.SetBCP(ctx, "it", false, "復旧"); err != nil {
		t.Fatal(err)
	}
	wantOrder(t, "off", e.m, "o1", "o2", "o3", "p2")
	if cp, used, _ := e.m.Counts(); cp != 2 || used != 3 {
		t.Fatalf("counts %d/%d, want 3 used of 2 (nobody ended)", used, cp)
	}

	got := bc.all()
	if len(got) != 2 || !got[0].Active || got[0].Reason != "震度6弱の地震のため" || got[0].Cap != 3 || got[1].Active || got[1].Reason != "復旧" {
		t.Fatalf("announcements %+v, want on then off", got)
	}
}

// A switch written by the CLI to the shared database is adopted by the
// running broker on its next sweep, and announced.
func TestBCPSwitchFromTheCLIAdoptedBySweep(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 1})
	bc := &broadcasts{}
	e.m.Close()
	e.people, e.bc = staffDir, bc
	e.open(api.SlotConfig{Cap: 1})
	ctx := context.Background()
	e.acquireAs("u1")
	e.acquireAs("o1")
	e.acquireAs("p0")
	rec := &recorder{}
	if _, err := slots.SaveBCP(ctx, e.st, rec, e.clock.Now(), "cli:it", nil, "", api.BCPConfigUpdate{Cap: ptr(2),
		Departments: &[]string{crisisDept}}); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := slots.SaveBCP(ctx, e.st, rec, e.clock.Now(), "cli:it", &on, "大雨特別警報", api.BCPConfigUpdate{}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.m, "p0", api.SlotGranted)
	wantOrder(t, "adopted", e.m, "o1")
	if got := bc.all(); len(got) != 1 || !got[0].Active || got[0].Reason != "大雨特別警報" {
		t.Fatalf("announcements %+v", got)
	}
	if err := e.m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := bc.all(); len(got) != 1 {
		t.Fatalf("a second sweep announced again: %+v", got)
	}
	if acts := rec.actions(); len(acts) != 2 || acts[0] != "admin.bcp_configured" || acts[1] != "admin.bcp_on" {
		t.Fatalf("audit %v", acts)
	}
}

func ptr[T any](v T) *T { return &v }

// recorder keeps audit events.
type recorder struct {
	mu  sync.Mutex
	evs []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
	return nil
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		out = append(out, e.Action)
	}
	return out
}
