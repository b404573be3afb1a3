package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/console"
	"github.com/zaitaku/zaitaku/broker/directory"
	"github.com/zaitaku/zaitaku/broker/events"
	"github.com/zaitaku/zaitaku/broker/server"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// Version is set at build time (-ldflags "-X ...daemon.Version=v1.2.3").
var Version = "dev"

// Broker is an opened data directory: database, services and server,
// not yet serving.
type Broker struct {
	Cfg      Config
	Log      *slog.Logger
	DB       Store         // the database, whichever engine
	Store    *sqlite.Store // the SQLite engine (tests reach its tables); nil on PostgreSQL
	Services *services.Services
	Server   *server.Server

	lock          *dataLock
	headerTimeout time.Duration
	// The certificate the broker serves (none with -insecure-http),
	// loaded in Open: TURN over TLS serves it too.
	cert    *tls.Certificate
	certFP  string
	certPin string
}

// Options are the knobs tests turn; production leaves them zero.
type Options struct {
	Now    func() time.Time
	Argon2 auth.Argon2Params
	// HeaderTimeout and BodyTimeout bound slow clients (defaults 10 s, 30 s).
	HeaderTimeout, BodyTimeout time.Duration
}

// NewLogger builds the slog logger the config asks for.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	ho := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// Store is an opened database: the domains' stores, and what the daemon
// asks of the engine around them. broker/store/sqlite (the default) and
// broker/store/postgres (-db postgres://...) implement it.
type Store interface {
	services.Stores
	CheckWritable(ctx context.Context) error
	Path() string // the file, or the URL without its password
	Close() error
}

// IsPostgres tells whether a -db value names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// OpenStore prepares the data directory and opens its database and
// secret key: what a one-shot `broker admin` command needs.
func OpenStore(ctx context.Context, cfg Config, log *slog.Logger) (Store, []byte, error) {
	if err := cfg.validateDB(); err != nil {
		return nil, nil, err
	}
	if IsPostgres(cfg.DB) {
		// The database first: a wrong URL creates nothing. Every broker on
		// one database needs the same secret.key in its data directory
		// (it seals what the database keeps secret).
		st, err := postgres.Open(ctx, cfg.DB, log, postgres.Options{})
		if err != nil {
			return nil, nil, err
		}
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			st.Close()
			return nil, nil, fmt.Errorf("data directory %s: %w", cfg.Data, err)
		}
		key, err := loadOrCreateSecretKey(cfg.Data)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return st, key, nil
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory %s: %w", cfg.Data, err)
	}
	key, err := loadOrCreateSecretKey(cfg.Data)
	if err != nil {
		return nil, nil, err
	}
	dbPath := filepath.Join(cfg.Data, "zaitaku.db")
	if cfg.DB != "" {
		dbPath = strings.TrimPrefix(strings.TrimPrefix(cfg.DB, "sqlite:"), "file:")
	}
	st, err := sqlite.Open(ctx, dbPath, log, sqlite.Options{Synchronous: cfg.Synchronous})
	if err != nil {
		return nil, nil, err
	}
	return st, key, nil
}

// Open prepares the data directory, opens the database, loads (or makes)
// the TLS certificate and builds the services and the server: what
// `broker serve` needs.
func Open(ctx context.Context, cfg Config, log *slog.Logger, opt Options) (*Broker, error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.Data, err)
	}
	var dir auth.DirectoryConfig
	if cfg.LDAP != nil {
		d, err := directory.New(*cfg.LDAP, os.Getenv)
		if err != nil {
			return nil, err
		}
		dir = cfg.LDAP.AuthConfig(d)
		log.Info("staff sign in through the directory", "url", cfg.LDAP.URL, "local_accounts", dir.LocalAccounts)
	}
	if err := checkWritableDir(cfg.Data); err != nil {
		return nil, err
	}
	lock, err := lockData(cfg.Data, cfg.Listen)
	if err != nil {
		return nil, err
	}
	st, key, err := OpenStore(ctx, cfg, log)
	if err != nil {
		lock.release()
		return nil, err
	}
	if err := st.CheckWritable(ctx); err != nil {
		st.Close()
		lock.release()
		if IsPostgres(cfg.DB) {
			return nil, fmt.Errorf("database %s takes no writes: %w (check that the URL names the primary, not a standby, and that its user may write)", st.Path(), err)
		}
		return nil, fmt.Errorf("database %s takes no writes: %w (check the volume is mounted read-write and the file's owner and mode)", st.Path(), err)
	}
	lease, err := cfg.Lease()
	if err != nil {
		st.Close()
		lock.release()
		return nil, err
	}
	// The certificate before the services: meetings' TURN over TLS
	// serves it beside HTTPS, so that browsers and laptops trust both
	// the same way.
	var cert *tls.Certificate
	var fp, pin string
	meetCfg := cfg.Meet()
	if !cfg.Insecure {
		c, f, p, err := loadOrCreateCert(cfg)
		if err != nil {
			st.Close()
			lock.release()
			return nil, err
		}
		cert, fp, pin = &c, f, p
		meetCfg.TLS = tunnel.ApplyProfile(&tls.Config{Certificates: []tls.Certificate{c}})
	}
	// Brokers on one PostgreSQL database share the event hub's bus.
	var bus events.Bus
	if b, ok := st.(interface{ Bus() events.Bus }); ok {
		bus = b.Bus()
	}
	svc, err := services.Build(ctx, services.Config{Stores: st, Bus: bus, Log: log, Now: opt.Now,
		Argon2: opt.Argon2, SecretKey: key, UnboundTunnels: cfg.Insecure && cfg.UnboundTunnels, Meet: meetCfg, Directory: dir,
		SlotLease: lease})
	if err != nil {
		st.Close()
		lock.release()
		return nil, err
	}
	limits, err := cfg.RateLimits()
	if err != nil {
		svc.Close()
		st.Close()
		lock.release()
		return nil, err
	}
	ccfg, err := cfg.Console(key)
	var cons *console.Service
	if err == nil {
		ccfg.Now = opt.Now
		cons, err = console.New(ccfg)
	}
	if err != nil {
		svc.Close()
		st.Close()
		lock.release()
		return nil, err
	}
	srv, err := server.New(server.Config{Domains: Domains(svc), Ready: st.CheckWritable, Log: log, Now: opt.Now,
		Version: Version, PublicURL: cfg.PublicURL, BodyTimeout: opt.BodyTimeout, Limits: limits, Console: cons})
	if err != nil {
		svc.Close()
		st.Close()
		lock.release()
		return nil, err
	}
	if opt.HeaderTimeout == 0 {
		opt.HeaderTimeout = 10 * time.Second
	}
	sq, _ := st.(*sqlite.Store)
	return &Broker{Cfg: cfg, Log: log, DB: st, Store: sq, Services: svc, Server: srv, lock: lock, headerTimeout: opt.HeaderTimeout,
		cert: cert, certFP: fp, certPin: pin}, nil
}

// Close closes the database and releases the data directory.
func (b *Broker) Close() error {
	err := b.DB.Close()
	b.lock.release()
	return err
}

// Domains hands the built services to the HTTP layer.
func Domains(s *services.Services) server.Domains {
	d := server.Domains{Audit: s.Audit, Auth: s.Auth, Oplog: s.Oplog, Terminals: s.Terminals,
		Events: s.Events, Relay: s.Relay, Slots: s.Slots, Releases: s.Releases, Chat: s.Chat, Roster: s.Roster,
		Telework: s.Telework, Segments: s.Terminals, Reports: s.Reports, Schedule: s.Schedule}
	if s.Meet != nil {
		d.Meet = s.Meet
	}
	return d
}

// Ready is what Serve reports once it listens.
type Ready struct {
	URL         string
	Fingerprint string // SHA-256 of the certificate; empty with -insecure-http
	Pin         string // the key pin laptops hold (api.KeyPin); empty with -insecure-http
}

// Serve listens and serves until ctx ends, then shuts down gracefully:
// stop accepting, let requests in flight finish (up to 20 s), end
// tunnels and sockets, stop jobs, close the database. ready (if not nil)
// is called once the listener is up.
func (b *Broker) Serve(ctx context.Context, ready func(Ready)) error {
	ln, err := net.Listen("tcp", b.Cfg.Listen)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: the address is in use by another program: stop it or choose another -listen", b.Cfg.Listen)
	} else if err != nil {
		return fmt.Errorf("listen on %s: %w (check -listen)", b.Cfg.Listen, err)
	}
	hs := &http.Server{
		Handler:           b.Server.Handler(),
		ReadHeaderTimeout: b.headerTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(b.Log.Handler(), slog.LevelDebug),
	}
	r := Ready{URL: "http://" + displayAddr(ln.Addr())}
	if b.cert != nil {
		fp, pin := b.certFP, b.certPin
		hs.TLSConfig = tunnel.ApplyProfile(&tls.Config{Certificates: []tls.Certificate{*b.cert},
			NextProtos: []string{"h2", "http/1.1"}})
		// tunnel.Listener: a connection that becomes a tunnel reads in bulk
		// and writes many TLS records per syscall.
		ln = tls.NewListener(tunnel.Listener(ln), hs.TLSConfig)
		r = Ready{URL: "https://" + displayAddr(ln.Addr()), Fingerprint: fp, Pin: pin}
		hs.Handler = announcePins(hs.Handler, append([]string{pin}, splitList(b.Cfg.NextKeyPins)...))
	}
	if b.Services.Meet != nil {
		// Where other brokers on the database send this one's meetings.
		b.Services.Meet.SetSelf(b.Cfg.advertiseURL(r.URL))
	}
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	jobsDone := make(chan struct{})
	go func() { b.Services.Run(jobsCtx); close(jobsDone) }()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready(r)
	}
	select {
	case err := <-errc:
		stopJobs()
		<-jobsDone
		return err
	case <-ctx.Done():
	}
	b.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	b.Server.Close()
	b.Services.Close()
	stopJobs()
	<-jobsDone
	if errors.Is(err, context.DeadlineExceeded) {
		_ = hs.Close()
	}
	return nil
}

func displayAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// checkWritableDir fails clearly when the data directory takes no files:
// a broker that cannot write would start, say it is ready, and fail every
// sign-in.
func checkWritableDir(dir string) error {
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w (check the volume is mounted read-write and the directory's owner)", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
