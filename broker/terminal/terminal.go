// Package terminal keeps the office PCs: where each is on the LAN, how to
// wake it, and whom it is paired with. The slots domain reads it to know
// which PC a member of staff may reach.
package terminal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// Sentinel errors of the store.
var (
	ErrNotFound   = errors.New("terminal not found")
	ErrConflict   = errors.New("terminal exists")
	ErrUserPaired = errors.New("user already paired")
	ErrNoUser     = errors.New("no such user")
)

// Store is what the service needs from the database.
type Store interface {
	CreateTerminal(ctx context.Context, t api.Terminal) error // ErrConflict, ErrUserPaired, ErrNoUser
	GetTerminal(ctx context.Context, id string) (api.Terminal, error)
	TerminalForUser(ctx context.Context, userID string) (api.Terminal, error)
	// GetTerminals returns the PCs of ids that exist, in one read.
	GetTerminals(ctx context.Context, ids []string) ([]api.Terminal, error)
	ListTerminals(ctx context.Context) ([]api.Terminal, error)
	// UpdateTerminal reads, lets fn change, and writes in one transaction.
	UpdateTerminal(ctx context.Context, id string, fn func(*api.Terminal) error) (api.Terminal, error)
	DeleteTerminal(ctx context.Context, id string) error
	SetTerminalState(ctx context.Context, id, state string, at time.Time) error
	PoolTerminals(ctx context.Context) ([]api.Terminal, error)

	// Satellite offices (segment.go). PutSatelliteOffice creates or
	// replaces one, keeping its CreatedAt, and returns it as stored.
	ListSatelliteOffices(ctx context.Context) ([]api.SatelliteOffice, error)
	PutSatelliteOffice(ctx context.Context, o api.SatelliteOffice) (api.SatelliteOffice, error)
	DeleteSatelliteOffice(ctx context.Context, id string) error // ErrNotFound
}

// Service manages office PCs.
type Service struct {
	st    Store
	audit audit.Recorder
	now   func() time.Time

	mu       sync.Mutex // guards onChange
	onChange []func(ctx context.Context)

	probe probeState // Run's findings (own lock)
}

// New returns a service.
func New(st Store, a audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{st: st, audit: a, now: now}
	s.probe.kick = make(chan struct{}, 1)
	return s
}

// OnChange registers fn to run after every change IT makes (the slots
// manager refreshes its pool).
func (s *Service) OnChange(fn func(ctx context.Context)) {
	s.mu.Lock()
	s.onChange = append(s.onChange, fn)
	s.mu.Unlock()
}

func (s *Service) changed(ctx context.Context) {
	s.kickProbe()
	s.mu.Lock()
	fns := append([]func(context.Context){}, s.onChange...)
	s.mu.Unlock()
	for _, fn := range fns {
		fn(ctx)
	}
}

var (
	idRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$`)
)

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 || !hostRE.MatchString(h) {
		return false
	}
	// An all-digit last label is a mistyped IP address, not a host name.
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// normalize fills defaults and checks every field, naming the bad one.
func normalize(t *api.Terminal) error {
	t.Name = strings.TrimSpace(t.Name)
	t.Address = strings.TrimSpace(t.Address)
	t.Department = strings.TrimSpace(t.Department)
	if t.RDPPort == 0 {
		t.RDPPort = 3389
	}
	if t.WakePort == 0 {
		t.WakePort = 9
	}
	if t.WakeAddr == "" {
		t.WakeAddr = "255.255.255.255"
	}
	for _, f := range []struct{ name, v string }{{"name", t.Name}, {"department", t.Department}, {"address", t.Address}} {
		if e := api.CheckText(f.name, f.v, 100); e != nil {
			return e
		}
	}
	switch {
	case t.Name == "" || utf8.RuneCountInString(t.Name) > 100:
		return api.Err(api.CodeValidation, "name: 1 to 100 characters")
	case !validHost(t.Address):
		return api.Err(api.CodeValidation, "address: a host name or IP address")
	case t.RDPPort < 1 || t.RDPPort > 65535:
		return api.Err(api.CodeValidation, "rdp_port: 1 to 65535")
	case t.WakePort < 1 || t.WakePort > 65535:
		return api.Err(api.CodeValidation, "wake_port: 1 to 65535")
	case !validHost(t.WakeAddr):
		return api.Err(api.CodeValidation, "wake_addr: a broadcast IP address or host name")
	case utf8.RuneCountInString(t.Department) > 100:
		return api.Err(api.CodeValidation, "department: at most 100 characters")
	case t.Pool && t.UserID != "":
		return api.Err(api.CodeValidation, "pool: a pool PC is not paired with anyone; unpair it first")
	}
	if err := checkSegment(t); err != nil {
		return err
	}
	if t.MAC != "" {
		hw, err := net.ParseMAC(strings.TrimSpace(t.MAC))
		if err != nil || len(hw) != 6 {
			return api.Err(api.CodeValidation, "mac: six bytes, e.g. 00:1a:2b:3c:4d:5e")
		}
		t.MAC = hw.String()
	}
	return nil
}

func storeErr(err error, id, user string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return api.Err(api.CodeTerminalNotFound, id)
	case errors.Is(err, ErrConflict):
		return api.Err(api.CodeTerminalExists, id)
	case errors.Is(err, ErrUserPaired):
		return api.Err(api.CodeTerminalUserTaken, user)
	case errors.Is(err, ErrNoUser):
		return api.Err(api.CodeTerminalUserNone, user)
	}
	return err
}

// Create registers an office PC.
func (s *Service) Create(ctx context.Context, actor string, req api.CreateTerminalRequest) (api.Terminal, error) {
	id := strings.ToLower(strings.TrimSpace(req.ID))
	if id == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		id = "pc-" + hex.EncodeToString(b[:])
	}
	if !idRE.MatchString(id) {
		return api.Terminal{}, api.Err(api.CodeValidation, "id: lower-case letters, digits, '.', '_' or '-', at most 64")
	}
	now := s.now()
	t := api.Terminal{ID: id, Name: req.Name, Address: req.Address, RDPPort: req.RDPPort, MAC: req.MAC,
		WakeAddr: req.WakeAddr, WakePort: req.WakePort, Department: req.Department,
		UserID: strings.ToLower(strings.TrimSpace(req.UserID)), Pool: req.Pool, Segment: req.Segment, State: api.TerminalUnknown,
		CreatedAt: now, UpdatedAt: now}
	if err := normalize(&t); err != nil {
		return api.Terminal{}, err
	}
	if !auth.DepartmentInScope(ctx, t.Department) {
		d, _ := auth.DepartmentLimit(ctx)
		return api.Terminal{}, api.Errf(api.CodeForbidden, "department: you manage %s only", d)
	}
	if _, limited := auth.DepartmentLimit(ctx); limited && t.Segment != api.SegmentLGWAN {
		return api.Terminal{}, api.Errf(api.CodeForbidden, "segment: central IT puts PCs in the %s segment", t.Segment)
	}
	if err := s.st.CreateTerminal(ctx, t); err != nil {
		return api.Terminal{}, storeErr(err, id, t.UserID)
	}
	if err := s.audit.Record(ctx, audit.Event{At: now, Actor: actor, Action: "admin.terminal_created", Target: id,
		Fields: map[string]string{"address": t.Address, "user": t.UserID, "pool": strconv.FormatBool(t.Pool), "segment": t.Segment}}); err != nil {
		return t, err
	}
	s.changed(ctx)
	return t, nil
}

// Update changes an office PC's details.
func (s *Service) Update(ctx context.Context, actor, id string, req api.UpdateTerminalRequest) (api.Terminal, error) {
	fields := map[string]string{}
	t, err := s.st.UpdateTerminal(ctx, id, func(t *api.Terminal) error {
		if !auth.DepartmentInScope(ctx, t.Department) {
			return ErrNotFound
		}
		set := func(name string, dst *string, v *string) {
			if v != nil {
				*dst = *v
				fields[name] = *v
			}
		}
		seti := func(name string, dst *int, v *int) {
			if v != nil {
				*dst = *v
				fields[name] = strconv.Itoa(*v)
			}
		}
		set("name", &t.Name, req.Name)
		set("address", &t.Address, req.Address)
		set("mac", &t.MAC, req.MAC)
		set("wake_addr", &t.WakeAddr, req.WakeAddr)
		set("department", &t.Department, req.Department)
		seti("rdp_port", &t.RDPPort, req.RDPPort)
		seti("wake_port", &t.WakePort, req.WakePort)
		if req.Pool != nil {
			t.Pool = *req.Pool
			fields["pool"] = strconv.FormatBool(t.Pool)
		}
		t.UpdatedAt = s.now()
		if err := normalize(t); err != nil {
			return err
		}
		if !auth.DepartmentInScope(ctx, t.Department) {
			return api.Errf(api.CodeForbidden, "department: an office PC stays in your department")
		}
		return nil
	})
	if err != nil {
		return api.Terminal{}, storeErr(err, id, "")
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.terminal_updated", Target: id, Fields: fields}); err != nil {
		return t, err
	}
	s.changed(ctx)
	return t, nil
}

// Pair pairs a PC with a member of staff; an empty userID unpairs it.
func (s *Service) Pair(ctx context.Context, actor, id, userID string) (api.Terminal, error) {
	userID = strings.ToLower(strings.TrimSpace(userID))
	var prev string
	t, err := s.st.UpdateTerminal(ctx, id, func(t *api.Terminal) error {
		if !auth.DepartmentInScope(ctx, t.Department) {
			return ErrNotFound
		}
		prev = t.UserID
		t.UserID = userID
		if userID != "" {
			t.Pool = false
		}
		t.UpdatedAt = s.now()
		return nil
	})
	if err != nil {
		return api.Terminal{}, storeErr(err, id, userID)
	}
	action := "admin.terminal_paired"
	if userID == "" {
		action = "admin.terminal_unpaired"
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: action, Target: id,
		Fields: map[string]string{"user": userID, "previous_user": prev}}); err != nil {
		return t, err
	}
	s.changed(ctx)
	return t, nil
}

// Delete removes an office PC.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	t, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if _, limited := auth.DepartmentLimit(ctx); limited && t.Segment == api.SegmentMyNumber {
		// Removed and registered again, it would leave its segment.
		return api.Errf(api.CodeForbidden, "a My Number PC is central IT's to remove")
	}
	if err := s.st.DeleteTerminal(ctx, id); err != nil {
		return storeErr(err, id, "")
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.terminal_deleted", Target: id}); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// List returns every office PC.
func (s *Service) List(ctx context.Context) ([]api.Terminal, error) {
	ts, err := s.st.ListTerminals(ctx)
	if _, limited := auth.DepartmentLimit(ctx); limited {
		ts = slices.DeleteFunc(ts, func(t api.Terminal) bool { return !auth.DepartmentInScope(ctx, t.Department) })
	}
	if ts == nil {
		ts = []api.Terminal{}
	}
	for i := range ts {
		ts[i] = s.withSeen(ts[i])
	}
	return ts, err
}

// Get returns one office PC (slots.Terminals).
func (s *Service) Get(ctx context.Context, id string) (api.Terminal, error) {
	t, err := s.st.GetTerminal(ctx, id)
	if err == nil && !auth.DepartmentInScope(ctx, t.Department) {
		// Another department's PC does not exist for a department's IT.
		return api.Terminal{}, storeErr(ErrNotFound, id, "")
	}
	return s.withSeen(t), storeErr(err, id, "")
}

// GetMany returns the PCs of ids that exist, by ID, in one read
// (slots.Terminals: a broker learns thousands of other brokers' slots
// at nine o'clock).
func (s *Service) GetMany(ctx context.Context, ids []string) (map[string]api.Terminal, error) {
	out := make(map[string]api.Terminal, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ts, err := s.st.GetTerminals(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if auth.DepartmentInScope(ctx, t.Department) {
			out[t.ID] = s.withSeen(t)
		}
	}
	return out, nil
}

// ForUser returns the PC paired with the user (slots.Terminals).
func (s *Service) ForUser(ctx context.Context, userID string) (api.Terminal, error) {
	t, err := s.st.TerminalForUser(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("user %s: %w", userID, slots.ErrNoTerminal)
	}
	return s.withSeen(t), err
}

// Pool lists the shared PCs (slots.Terminals).
func (s *Service) Pool(ctx context.Context) ([]api.Terminal, error) { return s.st.PoolTerminals(ctx) }

// SetState records what the broker learnt of a PC (awake, asleep).
func (s *Service) SetState(ctx context.Context, id, state string) error {
	return s.st.SetTerminalState(ctx, id, state, s.now())
}

var _ slots.Terminals = (*Service)(nil)

// ValidID reports whether id is a well-formed office PC ID.
func ValidID(id string) bool { return idRE.MatchString(id) }

// Check fills a PC's defaults and checks every field as Create does,
// naming the bad one (for the roster import, which writes PCs in its own
// transaction).
func Check(t *api.Terminal) error { return normalize(t) }

// ValidHost reports whether h is an IP address or a host name.
func ValidHost(h string) bool { return validHost(h) }
