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
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/store"
)

// Config is what a Server is built from.
type Config struct {
	Store   *store.Store
	Log     *slog.Logger
	Now     func() time.Time
	Version string
	Argon2  auth.Argon2Params
	// SecretKey (32 bytes) seals secrets at rest; kept in the data dir.
	SecretKey []byte
	// Audit overrides the audit recorder (default: the operation-log store).
	Audit audit.Recorder
	// Registry receives the broker's metrics (default: a new registry).
	Registry *prometheus.Registry
	// PublicURL is how clients reach the broker (for links it hands out).
	PublicURL string
	// BodyTimeout bounds how long a request body may take to arrive
	// (default 30 s): a slow client cannot hold a handler.
	BodyTimeout time.Duration
}

// Server serves the broker's API. Each domain keeps its dependencies in an
// embedded struct declared next to its routes (routes_<domain>.go), so that
// domains can grow without touching each other's files.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	st      *store.Store
	auth    *auth.Service
	audit   audit.Recorder
	metrics *metrics
	routes  []route
	handler http.Handler

	// jobs run in the background from Run until its ctx ends.
	jobs []func(ctx context.Context)
	// closers run at shutdown, after the HTTP server stops accepting, to
	// end hijacked connections (tunnels, sockets) cleanly.
	closers []func()

	wg sync.WaitGroup // background jobs

	domains
}

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
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
	s := &Server{cfg: cfg, log: cfg.Log, now: cfg.Now, st: cfg.Store}
	s.metrics = newMetrics(cfg.Registry)
	if err := s.initDomains(); err != nil {
		return nil, err
	}
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

// Auth returns the account service (for the CLI and tests).
func (s *Server) Auth() *auth.Service { return s.auth }

// Audit returns the audit recorder.
func (s *Server) Audit() audit.Recorder { return s.audit }

// Run starts the background jobs and blocks until ctx ends, then waits for them.
func (s *Server) Run(ctx context.Context) {
	for _, job := range s.jobs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			job(ctx)
		}()
	}
	<-ctx.Done()
	s.wg.Wait()
}

// Close ends hijacked connections; call after http.Server.Shutdown.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// every runs fn every d until ctx ends (a helper for domain jobs).
func every(ctx context.Context, d time.Duration, fn func(context.Context)) {
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
