// Package server is the broker's HTTP face: one route table (routes.go)
// from which the mux, the OpenAPI document and the authorization test are
// all derived, plus the middleware every request passes through.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaitaku/zaitaku/broker/audit"
)

// Config is what a Server is built from.
type Config struct {
	// Domains are the services behind the routes (see broker/services).
	Domains Domains
	// Ready reports whether the database takes writes (for /readyz).
	Ready   func(ctx context.Context) error
	Log     *slog.Logger
	Now     func() time.Time
	Version string
	// Registry receives the broker's metrics (default: a new registry).
	Registry *prometheus.Registry
	// PublicURL is how clients reach the broker (for links it hands out).
	PublicURL string
	// BodyTimeout bounds how long a request body may take to arrive
	// (default 30 s): a slow client cannot hold a handler.
	BodyTimeout time.Duration
	// Limits are the per-source limits on sign-in and refresh (zero: none).
	Limits RateLimits
	// Console is the admin console's reach and sessions (nil: the
	// console's routes refuse every caller).
	Console Console
}

// Server serves the broker's API. It constructs no domain: each arrives
// built, as the interface declared in domains.go.
type Server struct {
	cfg             Config
	log             *slog.Logger
	now             func() time.Time
	metrics         *metrics
	limits          *limits
	routes          []route
	handler         http.Handler
	openAPIDocument openAPICache

	auth    Accounts
	audit   audit.Recorder
	oplog   OperationLog
	terms   Terminals
	events  EventHub
	relay   Tunnels
	slots   Slots
	rel     Releases
	chat    Chat
	roster  Roster
	tw      Telework
	segs    Segments
	meet    Meetings
	sched   Schedule
	reps    Reports
	console Console

	sockets    sync.WaitGroup     // live event sockets
	socketsCtx context.Context    // ends every socket at shutdown
	stopSocket context.CancelFunc // cancels socketsCtx
}

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if name := cfg.Domains.missing(); name != "" {
		return nil, errors.New("server: no " + name + " domain")
	}
	if cfg.Ready == nil {
		return nil, errors.New("server: no readiness check")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = 30 * time.Second
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	d := cfg.Domains
	s := &Server{cfg: cfg, log: cfg.Log, now: cfg.Now,
		auth: d.Auth, audit: d.Audit, oplog: d.Oplog, terms: d.Terminals, events: d.Events, relay: d.Relay, slots: d.Slots,
		rel: d.Releases, chat: d.Chat, roster: d.Roster, tw: d.Telework, segs: d.Segments, meet: d.Meet, sched: d.Schedule, reps: d.Reports, console: cfg.Console}
	s.socketsCtx, s.stopSocket = context.WithCancel(context.Background())
	s.metrics = newMetrics(cfg.Registry)
	s.limits = newLimits(cfg.Limits, cfg.Now)
	s.registerSlotGauges()
	s.routes = s.routeTable()
	h, err := s.buildMux()
	if err != nil {
		return nil, err
	}
	s.handler = h
	return s, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends the event sockets and waits for them; call after
// http.Server.Shutdown and before the services close.
func (s *Server) Close() {
	s.stopSocket()
	s.sockets.Wait()
}
