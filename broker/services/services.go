// Package services builds the broker's domains, outside HTTP, in plain
// dependency order: oplog (the audit recorder) → auth → terminals →
// events → relay → slots → releases → chat → roster → telework → meet. `broker serve` builds them all with Build and
// hands them to broker/server; a one-shot `broker admin` command builds
// only the ones it needs with the New* functions, which start nothing in
// the background.
package services

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/broker/events"
	"github.com/zaitaku/zaitaku/broker/jobs"
	"github.com/zaitaku/zaitaku/broker/meet"
	"github.com/zaitaku/zaitaku/broker/oplog"
	"github.com/zaitaku/zaitaku/broker/relay"
	"github.com/zaitaku/zaitaku/broker/release"
	"github.com/zaitaku/zaitaku/broker/report"
	rosterimport "github.com/zaitaku/zaitaku/broker/roster"
	"github.com/zaitaku/zaitaku/broker/schedule"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/telework"
	"github.com/zaitaku/zaitaku/broker/terminal"
	"github.com/zaitaku/zaitaku/broker/wake"
)

// Stores is what the domains keep in a database: one store per domain,
// each the interface that domain declares. broker/store/sqlite implements
// it; the contract suite in broker/store/storetest checks any engine.
type Stores interface {
	Auth() auth.Store
	Oplog() oplog.Store
	Terminals() terminal.Store
	Events() events.Store
	Slots() slots.Store
	Releases() release.Store
	Chat() chat.Store
	Roster() rosterimport.Store
	Telework() telework.Store
	Reports() report.Store
	Jobs() jobs.Store
	// Meet records which broker hosts each meeting room (used across
	// brokers only).
	Meet() meet.Hosts
	Meetings() schedule.Store
}

// Config is what the services are built from.
type Config struct {
	Stores Stores
	Log    *slog.Logger
	Now    func() time.Time
	Argon2 auth.Argon2Params
	// Bus joins the event hub to the other brokers on the same database
	// (PostgreSQL); nil for one broker.
	Bus events.Bus
	// SecretKey (32 bytes) seals secrets at rest; kept in the data dir.
	SecretKey []byte
	// UnboundTunnels lets tunnels that reach the broker without TLS (it
	// runs behind a TLS-terminating proxy) go without channel binding.
	UnboundTunnels bool
	// Meet is the web meetings' media port; an empty UDP address runs
	// the broker without meetings.
	Meet MeetConfig
	// Directory, when its Directory is set, signs staff in against the
	// city's directory (broker/directory) instead of local passwords.
	Directory auth.DirectoryConfig
	// SlotLease is how long a slot lives without a heartbeat (default
	// 90 s; the app beats every third of it).
	SlotLease time.Duration
}

// MeetConfig is where meeting media flows.
type MeetConfig struct {
	UDP        string   // "host:port" of the one UDP port for all media
	PublicIPs  []string // announced instead of the interfaces' addresses (1:1 NAT)
	Interfaces []string // only these network interfaces (empty: all)
	Loopback   bool     // announce 127.0.0.1 (tests, one-machine demos)
	// TURNTCP is the TCP address of the embedded TURN server, for
	// browsers that cannot send UDP; empty: none.
	TURNTCP string
	// TURNTLS is the TCP address of the same TURN server over TLS, with
	// TLS (the broker's own certificate); empty: none.
	TURNTLS string
	TLS     *tls.Config
	// ICETCP is the TCP address for ICE over TCP (pion's TCP mux);
	// empty: none.
	ICETCP string
	// ICEServers are the site's own STUN/TURN servers for the pages.
	ICEServers []api.MeetICEServer
}

func (c Config) withDefaults() (Config, error) {
	if c.Stores == nil {
		return c, errors.New("services: no store")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Services are the broker's domains, built and wired.
type Services struct {
	Oplog     *oplog.Service
	Audit     audit.Recorder // the operation log, as every domain's recorder
	Auth      *auth.Service
	Terminals *terminal.Service
	Events    *events.Hub
	Relay     *relay.Relay
	Slots     *slots.Manager
	Releases  *release.Service
	Chat      *chat.Service
	Roster    *rosterimport.Service
	Telework  *telework.Service
	Meet      *meet.Service // nil without a media port
	Schedule  *schedule.Service
	Reports   *report.Service

	jobs []Job
}

// Job is a named background loop that Run starts.
type Job struct {
	Name string
	Run  func(ctx context.Context)
}

// presenceJob is chat's presence sweep. Across brokers presence is
// merged (every hub knows the others' sockets), so each broker's sweep
// would see the same change and its department would be told once per
// broker: the sweep is then claimed in the database, one broker a period.
func presenceJob(across bool, once func(string, time.Duration, func(context.Context)) Job, fn func(context.Context)) Job {
	if across {
		return once("chat.presence", 10*time.Second, fn)
	}
	return Job{"chat.presence", periodic(10*time.Second, fn)}
}

// sweepEvery is how often slot leases, idle and maximum-length ends are checked.
const sweepEvery = 5 * time.Second

// sweepEvery is sweepEvery, or a quarter of a shorter lease, so that a
// lapsed lease (a dead broker's slots) frees its slot within about one
// lease.
func (s *Services) sweepEvery(lease time.Duration) time.Duration {
	if lease > 0 && lease/4 < sweepEvery {
		return max(lease/4, 250*time.Millisecond)
	}
	return sweepEvery
}

// Build builds every domain in dependency order. Run starts their
// background jobs; Close ends what they hold.
func Build(ctx context.Context, cfg Config) (*Services, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	s := &Services{}
	if s.Oplog, err = NewOplog(cfg); err != nil {
		return nil, err
	}
	s.Audit = s.Oplog
	if s.Auth, err = NewAuth(cfg, s.Audit); err != nil {
		return nil, err
	}
	s.Terminals = NewTerminals(cfg, s.Audit)
	ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if s.Events, err = events.New(ectx, cfg.Stores.Events(), log.With("domain", "events"), cfg.Now, events.WithBus(cfg.Bus)); err != nil {
		return nil, err
	}
	// Each tunnel is bound to its TLS connection by the device key of
	// the session that opens it.
	s.Relay = relay.New(relay.Config{Devices: s.Auth, Unbound: cfg.UnboundTunnels, Audit: s.Audit,
		Log: log.With("domain", "relay"), Now: cfg.Now})
	s.Slots, err = slots.New(ectx, slots.Config{
		Store: cfg.Stores.Slots(), Terminals: s.Terminals, Events: s.Events, Audit: s.Audit,
		Log: log.With("domain", "slots"), Now: cfg.Now,
		People: slotPeople{cfg.Stores.Auth()}, Broadcast: announcer{s.Events}, // BCP mode
		Lease: cfg.SlotLease, Heartbeat: cfg.SlotLease / 3,
	})
	if err != nil {
		s.Relay.Close()
		s.Events.Close()
		return nil, err
	}
	s.Slots.SetWaker(WakeTerminal)
	s.Terminals.OnChange(func(ctx context.Context) {
		if err := s.Slots.RefreshPool(ctx); err != nil {
			log.Warn("slots: refresh pool", "err", err)
		}
	})
	// A slot, and so its tunnels, and the event socket end with the
	// sign-in that holds them.
	s.Auth.OnSessionsEnded(func(ctx context.Context, e auth.SessionsEnded) {
		if err := s.Slots.EndSignIns(ctx, e.UserID, e.DeviceID, e.SessionID, e.ExceptDevice, e.Reason); err != nil {
			log.Warn("slots: end with sign-in", "user", e.UserID, "err", err)
		}
		s.Events.CloseSignIns(e.UserID, e.DeviceID, e.SessionID, e.ExceptDevice)
	})
	// The relay carries only granted slots, and a slot that ends takes
	// its tunnels with it.
	s.Relay.SetGrants(s.Slots)
	s.Slots.OnEnd(s.Relay.EndSlot)
	if s.Releases, err = NewReleases(cfg, s.Audit); err != nil {
		s.Slots.Close()
		s.Relay.Close()
		s.Events.Close()
		return nil, err
	}
	if s.Chat, err = newChat(cfg, s.Auth, s.Events, presence{s.Events, s.Slots}, s.Events, s.Events, s.Audit); err != nil {
		s.Slots.Close()
		s.Relay.Close()
		s.Events.Close()
		return nil, err
	}
	// Chat keeps department member lists in memory: they are dropped,
	// on every broker (the hub's signals), when staff change.
	s.Auth.OnStaffChanged(func(_ context.Context, depts []string) { s.Chat.DepartmentsChanged(depts) })
	// A gap in a channel's messages on the bus is read from the history.
	s.Events.SetFiller(s.Chat.Fill)
	// A roster import writes PCs in its own transaction; the pool is read again after.
	s.Roster = NewRoster(cfg, s.Audit, s.Auth, func(ctx context.Context) {
		if err := s.Slots.RefreshPool(ctx); err != nil {
			log.Warn("slots: refresh pool after roster import", "err", err)
		}
	})
	// Telework tells staff through chat and the tray, reads who is
	// connected from the slots, and gates new slots by its policy.
	if s.Telework, err = newTelework(cfg, s.Auth, s.Chat, s.Events, s.Audit); err != nil {
		s.Slots.Close()
		s.Relay.Close()
		s.Events.Close()
		return nil, err
	}
	// Meetings tell chat who is in one: presence says 会議中.
	if s.Meet, err = newMeet(cfg, s.Audit, s.Chat); err != nil {
		s.Slots.Close()
		s.Relay.Close()
		s.Events.Close()
		return nil, err
	}
	s.Schedule = schedule.New(cfg.Stores.Meetings(), directory{s.Auth}, s.Audit, cfg.Now)
	s.Telework.SetLive(connected{s.Slots})
	s.Slots.SetGate(gate{s.Telework})
	s.Reports = NewReports(cfg, func() int { return s.Slots.Policy().Cap })

	// Database-wide work runs on one broker per period however many
	// share the database (broker/jobs); the rest is each broker's own.
	by := brokerName()
	once := func(name string, every time.Duration, fn func(context.Context)) Job {
		return Job{name, periodic(every, jobs.Once(cfg.Stores.Jobs(), name, by, every, time.Now, log, fn))}
	}
	s.jobs = []Job{
		// Retention is counted in days and a purge walks the table: four
		// times a day is plenty.
		once("oplog.purge", 6*time.Hour, func(ctx context.Context) {
			if n, err := s.Oplog.Purge(ctx); err != nil {
				log.Warn("purge operation logs", "err", err)
			} else if n > 0 {
				log.Info("purged operation logs past retention", "events", n)
			}
		}),
		once("auth.purge", time.Hour, func(ctx context.Context) {
			if err := s.Auth.Purge(ctx); err != nil {
				log.Warn("purge expired sessions", "err", err)
			}
		}),
		once("events.purge", time.Hour, func(ctx context.Context) {
			if _, err := s.Events.Purge(ctx); err != nil {
				log.Warn("purge events", "err", err)
			}
		}),
		// Presence follows sockets and slots, which tell chat nothing: a
		// sweep finds who changed and tells their department.
		presenceJob(cfg.Bus != nil, once, func(ctx context.Context) {
			if err := s.Chat.SweepPresence(ctx); err != nil && ctx.Err() == nil {
				log.Warn("chat: presence sweep", "err", err)
			}
		}),
		once("chat.purge", 6*time.Hour, func(ctx context.Context) {
			if n, err := s.Chat.Purge(ctx); err != nil {
				log.Warn("purge chat", "err", err)
			} else if n > 0 {
				log.Info("purged chat past retention", "entries", n)
			}
		}),
		// Bytes reach the slots every few seconds, so that IT sees live
		// traffic and a slot that ends before its tunnel loses little of
		// its count.
		{"relay.report-bytes", func(ctx context.Context) { s.Relay.Run(ctx, 3*time.Second) }},
		// The office PCs' states for the home screens, one probe per PC
		// per minute however many apps are open.
		{"terminal.probe", func(ctx context.Context) {
			s.Terminals.Run(ctx, terminal.Probing{Prober: &wake.Waker{}, Every: time.Minute})
		}},
		// Pending rosters take effect at midnight JST of their day; a
		// minute late is on time for the morning.
		once("roster.apply-due", time.Minute, func(ctx context.Context) {
			if n, err := s.Roster.ApplyDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("roster: apply due imports", "err", err)
			} else if n > 0 {
				log.Info("applied roster imports on their effective date", "imports", n)
			}
		}),
		{"slots.sweep", periodic(s.sweepEvery(cfg.SlotLease), func(ctx context.Context) {
			if err := s.Slots.Sweep(ctx); err != nil && ctx.Err() == nil {
				log.Warn("slots: sweep", "err", err)
			}
		})},
		// Manifests live a few days and are re-signed past half their
		// life; checking hourly keeps every one far from expiry.
		once("release.sign", time.Hour, func(ctx context.Context) {
			if n, err := s.Releases.Resign(ctx); err != nil && ctx.Err() == nil {
				log.Warn("release: re-sign manifests", "err", err)
			} else if n > 0 {
				log.Info("release: re-signed manifests", "manifests", n)
			}
		}),
	}
	if s.Meet != nil {
		// Empty rooms are kept for hours; checking every ten minutes is plenty.
		s.jobs = append(s.jobs, Job{"meet.sweep", periodic(10*time.Minute, s.Meet.Sweep)})
		if cfg.Bus != nil {
			// This broker's rooms are still its own (its part of the
			// database's record, so not claimed once for all).
			s.jobs = append(s.jobs, Job{"meet.hosts", periodic(meet.HostsEvery, s.Meet.TouchHosts)})
		}
	}
	return s, nil
}

// NewOplog builds the operation-log service; it is also the audit
// recorder of every other domain.
func NewOplog(cfg Config) (*oplog.Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return oplog.New(oplog.Config{Store: cfg.Stores.Oplog(), Directory: deviceDirectory{cfg.Stores.Auth()},
		Log: cfg.Log, Now: cfg.Now})
}

// NewAuth builds the account service.
func NewAuth(cfg Config, rec audit.Recorder) (*auth.Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return auth.New(auth.Config{Store: cfg.Stores.Auth(), Audit: rec, Log: cfg.Log, Now: cfg.Now,
		Argon2: cfg.Argon2, SecretKey: cfg.SecretKey, Directory: cfg.Directory})
}

// NewTerminals builds the office PC service.
func NewTerminals(cfg Config, rec audit.Recorder) *terminal.Service {
	cfg, _ = cfg.withDefaults()
	return terminal.New(cfg.Stores.Terminals(), rec, cfg.Now)
}

// NewReleases builds the self-update service (releases, key lists,
// signed manifests).
func NewReleases(cfg Config, rec audit.Recorder) (*release.Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return release.New(release.Config{Store: cfg.Stores.Releases(), Audit: rec, Log: cfg.Log.With("domain", "release"),
		Now: cfg.Now, SecretKey: cfg.SecretKey})
}

// NewChat builds chat: its department channels follow the staff roster
// of auth, and it pushes over the event hub (nil for a one-shot command,
// which has no sockets to push to).
func NewChat(cfg Config, a *auth.Service, push chat.Pusher, rec audit.Recorder) (*chat.Service, error) {
	return newChat(cfg, a, push, nil, nil, nil, rec)
}

func newChat(cfg Config, a *auth.Service, push chat.Pusher, p chat.Presence, m chat.Marks, sig chat.Signals, rec audit.Recorder) (*chat.Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if push == nil {
		push = noPush{}
	}
	return chat.New(chat.Config{Store: cfg.Stores.Chat(), Directory: roster{a}, Push: push, Audit: rec, Presence: p, Marks: m,
		Signals: sig, Log: cfg.Log.With("domain", "chat"), Now: cfg.Now})
}

// NewTelework builds telework for a one-shot command: no chat notices
// or tray events (the command changes policy, holidays, exports).
func NewTelework(cfg Config, a *auth.Service, rec audit.Recorder) (*telework.Service, error) {
	return newTelework(cfg, a, nil, nil, rec)
}

func newTelework(cfg Config, a *auth.Service, c *chat.Service, hub *events.Hub, rec audit.Recorder) (*telework.Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tc := telework.Config{Store: newTeleworkStore(cfg.Stores.Telework()), Directory: twRoster{a}, Audit: rec,
		Log: cfg.Log.With("domain", "telework"), Now: cfg.Now}
	if c != nil {
		tc.Notify = c
	}
	if hub != nil {
		tc.Push = hub
	}
	return telework.New(tc)
}

// gate is the telework policy as the slots ask it.
type gate struct{ t *telework.Service }

func (g gate) Admit(ctx context.Context, userID string) error { return g.t.Admit(ctx, userID) }

func (g gate) Windows(ctx context.Context, userIDs []string) (map[string]slots.Window, error) {
	ws, err := g.t.Windows(ctx, userIDs)
	if err != nil || ws == nil {
		return nil, err
	}
	out := make(map[string]slots.Window, len(ws))
	for id, w := range ws {
		out[id] = slots.Window{EndsAt: w.EndsAt, Warn: w.Warn, Disconnect: w.Disconnect}
	}
	return out, nil
}

// connected is who holds a granted slot, for the supervisor's view.
type connected struct{ m *slots.Manager }

func (c connected) Connected(userID string) bool {
	sl, err := c.m.Mine(userID)
	return err == nil && sl.State == api.SlotGranted
}

// twRoster gives telework the staff as auth has them now.
type twRoster struct{ a *auth.Service }

func (r twRoster) User(ctx context.Context, id string) (api.User, error) {
	u, err := r.a.GetUser(ctx, id)
	if e := api.AsError(err); e != nil && e.Code == api.CodeNotFound {
		return api.User{}, telework.ErrNotFound
	}
	if err != nil {
		return api.User{}, err
	}
	return *u, nil
}

func (r twRoster) Department(ctx context.Context, dept string) ([]api.User, error) {
	if dept == "" {
		return nil, nil
	}
	return r.a.ListUsers(ctx, dept)
}

func (r twRoster) Everyone(ctx context.Context) ([]api.User, error) { return r.a.ListUsers(ctx, "") }

// presence is what chat's presence is derived from: an open event
// socket, and a granted slot (connected to the office PC).
type presence struct {
	hub   *events.Hub
	slots *slots.Manager
}

func (p presence) Online(userID string) bool { return p.hub.Online(userID) }

func (p presence) Teleworking(userID string) bool {
	sl, err := p.slots.Mine(userID)
	return err == nil && sl.State == api.SlotGranted
}

// announcer announces BCP mode's switches. Every broker of a database
// adopts each switch, the one it was made on and the others after it, and
// each announces it: keyed by the switch (on or off, and when), so that
// across brokers every app hears it once.
type announcer struct{ hub *events.Hub }

func (a announcer) Broadcast(typ string, data any) {
	n, ok := data.(api.BCPNotice)
	if !ok {
		a.hub.Broadcast(typ, data)
		return
	}
	// Milliseconds: the switch's time as the database keeps it, which is
	// what the other brokers adopt.
	a.hub.BroadcastOnce(fmt.Sprintf("%s/%t/%d", typ, n.Active, n.Since.UnixMilli()), typ, data)
}

type noPush struct{}

func (noPush) PushLive([]string, string, any) {}

// roster gives chat the staff as auth has them now.
type roster struct{ a *auth.Service }

func (r roster) User(ctx context.Context, id string) (api.User, error) {
	u, err := r.a.GetUser(ctx, id)
	if e := api.AsError(err); e != nil && e.Code == api.CodeNotFound {
		return api.User{}, chat.ErrNotFound
	}
	if err != nil {
		return api.User{}, err
	}
	return *u, nil
}

// Department and Everyone leave out the lock state (auth.Service.Staff):
// chat asks at every message and needs only who is in the department.
func (r roster) Department(ctx context.Context, dept string) ([]api.User, error) {
	if dept == "" {
		return nil, nil
	}
	return r.a.Staff(ctx, dept)
}

func (r roster) Everyone(ctx context.Context) ([]api.User, error) { return r.a.Staff(ctx, "") }

// NewRoster builds the roster import. changed (may be nil) runs after an
// import changed office PCs.
func NewRoster(cfg Config, rec audit.Recorder, a *auth.Service, changed func(context.Context)) *rosterimport.Service {
	cfg, _ = cfg.withDefaults()
	return rosterimport.New(rosterimport.Config{Store: cfg.Stores.Roster(), Audit: rec, Log: cfg.Log.With("domain", "roster"), Now: cfg.Now,
		PasswordHash: a.UnusablePasswordHash, Disabled: a.EndUserSessions, Changed: changed,
		Staff: func(ctx context.Context) { a.StaffChanged(ctx, nil) }})
}

// NewMeet builds web meetings on their UDP port (nil, nil when none is
// configured).
func NewMeet(cfg Config, rec audit.Recorder) (*meet.Service, error) {
	return newMeet(cfg, rec, nil)
}

func newMeet(cfg Config, rec audit.Recorder, att meet.Attendance) (*meet.Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Meet.UDP == "" {
		return nil, nil
	}
	conn, err := net.ListenPacket("udp4", cfg.Meet.UDP)
	if err != nil {
		return nil, fmt.Errorf("meetings: media port %s: %w", cfg.Meet.UDP, err)
	}
	mc := meet.Config{UDP: conn, PublicIPs: cfg.Meet.PublicIPs, Interfaces: cfg.Meet.Interfaces,
		Loopback: cfg.Meet.Loopback, ICEServers: cfg.Meet.ICEServers, Attendance: att, Audit: rec, Log: cfg.Log.With("domain", "meet"), Now: cfg.Now}
	if cfg.Bus != nil {
		// Several brokers on one database: each room is recorded with its
		// broker, and joins asked elsewhere are sent there.
		mc.Hosts, mc.TokenKey = cfg.Stores.Meet(), meet.TokenKey(cfg.SecretKey)
	}
	// What is opened here is closed here until meet.New owns it.
	opened := []io.Closer{conn}
	fail := func(err error) (*meet.Service, error) {
		for _, c := range opened {
			c.Close()
		}
		return nil, err
	}
	listen := func(what, addr string) (net.Listener, error) {
		l, err := net.Listen("tcp4", addr)
		switch {
		case errors.Is(err, syscall.EACCES):
			return nil, fmt.Errorf("meetings: %s port %s: %w (a port below 1024 needs the capability CAP_NET_BIND_SERVICE: see the unit's comments, systemctl cat zaitaku-broker)", what, addr, err)
		case errors.Is(err, syscall.EADDRINUSE):
			return nil, fmt.Errorf("meetings: %s port %s is in use by another program: stop it or choose another port", what, addr)
		case err != nil:
			return nil, fmt.Errorf("meetings: %s port %s: %w", what, addr, err)
		}
		opened = append(opened, l)
		return l, nil
	}
	if cfg.Meet.TURNTCP != "" {
		if mc.TURN, err = listen("TURN", cfg.Meet.TURNTCP); err != nil {
			return fail(err)
		}
	}
	if cfg.Meet.TURNTLS != "" {
		if mc.TURNTLS, err = listen("TURN over TLS", cfg.Meet.TURNTLS); err != nil {
			return fail(err)
		}
		mc.TLSConfig = cfg.Meet.TLS
	}
	if cfg.Meet.ICETCP != "" {
		if mc.TCP, err = listen("ICE TCP", cfg.Meet.ICETCP); err != nil {
			return fail(err)
		}
	}
	m, err := meet.New(mc)
	if err != nil {
		return fail(err)
	}
	args := []any{"udp", conn.LocalAddr().String()}
	if a := m.TURNAddr(); a != nil {
		args = append(args, "turn_tcp", a.String())
	}
	if a := m.TURNTLSAddr(); a != nil {
		args = append(args, "turn_tls", a.String())
	}
	cfg.Log.Info("meetings: media ports", args...)
	return m, nil
}

// Jobs lists the background jobs Run starts, by name.
func (s *Services) Jobs() []Job { return append([]Job(nil), s.jobs...) }

// Run starts the background jobs and blocks until ctx ends and they return.
func (s *Services) Run(ctx context.Context) {
	done := make(chan struct{}, len(s.jobs))
	for _, j := range s.jobs {
		go func() {
			defer func() { done <- struct{}{} }()
			j.Run(ctx)
		}()
	}
	for range s.jobs {
		<-done
	}
}

// Close ends what the services hold, after the HTTP layer has stopped:
// pending slot changes are committed, tunnels end, then the event hub
// stores what is pending.
func (s *Services) Close() {
	if s.Meet != nil {
		s.Meet.Close()
	}
	s.Slots.Close()
	s.Relay.Close()
	s.Events.Close()
}

// brokerName tells brokers apart in job claims: host and process.
func brokerName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}

// periodic returns a job that runs fn every d until ctx ends.
func periodic(d time.Duration, fn func(context.Context)) func(context.Context) {
	return func(ctx context.Context) {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}
}

// WakeTerminal wakes an office PC with Wake-on-LAN (broker/wake) and
// waits until it answers on its RDP port.
func WakeTerminal(ctx context.Context, t api.Terminal, progress func(stage, detail string)) error {
	tgt := wake.Target{Addr: net.JoinHostPort(t.Address, strconv.Itoa(t.RDPPort)),
		Broadcast: net.JoinHostPort(t.WakeAddr, strconv.Itoa(t.WakePort))}
	if t.MAC != "" {
		mac, err := net.ParseMAC(t.MAC)
		if err != nil {
			return err
		}
		tgt.MAC = mac
	}
	var w wake.Waker
	return w.Wake(ctx, tgt, progress)
}

// slotPeople gives BCP mode the department and roles of reloaded requests.
type slotPeople struct{ st auth.Store }

func (p slotPeople) Person(ctx context.Context, id string) (slots.Person, error) {
	u, err := p.st.GetUser(ctx, id)
	if err != nil {
		return slots.Person{}, err
	}
	return slots.Person{Department: u.Department, Roles: u.Roles}, nil
}

// deviceDirectory gives the operation log a device's key and owner from
// the account store.
type deviceDirectory struct{ st auth.Store }

func (d deviceDirectory) DeviceInfo(ctx context.Context, id string) (oplog.DeviceInfo, error) {
	dev, err := d.st.GetDevice(ctx, id)
	if errors.Is(err, auth.ErrNotFound) {
		return oplog.DeviceInfo{}, fmt.Errorf("%w: %s", oplog.ErrDeviceNotFound, id)
	} else if err != nil {
		return oplog.DeviceInfo{}, err
	}
	u, err := d.st.GetUser(ctx, dev.UserID)
	if err != nil {
		return oplog.DeviceInfo{}, err
	}
	return oplog.DeviceInfo{PublicKey: dev.PublicKey, UserID: dev.UserID, Department: u.Department,
		Status: dev.Status, RevokedAt: dev.RevokedAt}, nil
}

// NewReports builds the usage reports on the store; capNow is the cap in
// force (the running slots' policy, or the stored one for the CLI).
func NewReports(cfg Config, capNow func() int) *report.Service {
	return report.New(cfg.Stores.Reports(), capNow, cfg.Now)
}

// directory finds staff for the schedule's invitee lists.
type directory struct{ a *auth.Service }

func (d directory) User(ctx context.Context, id string) (api.User, error) {
	u, err := d.a.GetUser(ctx, id)
	if err != nil {
		return api.User{}, err
	}
	return *u, nil
}
