// Package daemon runs the broker: configuration from flags, environment and
// an optional file; the data directory (database, TLS certificate, secret
// key); the HTTPS server; background jobs; graceful shutdown.
package daemon

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/console"
	"github.com/zaitaku/zaitaku/broker/directory"
	"github.com/zaitaku/zaitaku/broker/server"
	"github.com/zaitaku/zaitaku/broker/services"
)

// Config is the broker's configuration. Precedence: flag > environment >
// file > default.
type Config struct {
	Data        string `json:"data"`          // ZAITAKU_DATA
	Listen      string `json:"listen"`        // ZAITAKU_LISTEN
	DB          string `json:"db"`            // ZAITAKU_DB: empty = SQLite in Data
	TLSCert     string `json:"tls_cert"`      // ZAITAKU_TLS_CERT: PEM; empty = self-signed in Data
	TLSKey      string `json:"tls_key"`       // ZAITAKU_TLS_KEY
	PublicURL   string `json:"public_url"`    // ZAITAKU_PUBLIC_URL: how clients reach us
	LogFormat   string `json:"log_format"`    // ZAITAKU_LOG_FORMAT: json | text
	LogLevel    string `json:"log_level"`     // ZAITAKU_LOG_LEVEL: debug | info | warn | error
	Synchronous string `json:"synchronous"`   // ZAITAKU_SQLITE_SYNCHRONOUS: NORMAL | FULL
	Demo        bool   `json:"demo"`          // ZAITAKU_DEMO: seed demo data
	Insecure    bool   `json:"insecure_http"` // ZAITAKU_INSECURE_HTTP: plain HTTP (tests behind a TLS proxy only)
	// ZAITAKU_UNBOUND_TUNNELS: with Insecure, tunnels run without channel
	// binding (the broker holds no TLS session to bind them to).
	UnboundTunnels bool `json:"unbound_tunnels"`
	// ZAITAKU_NEXT_KEY_PINS: key pins (comma-separated) the broker
	// announces to laptops before it moves to that key, so that laptops
	// set up by hand survive the rotation.
	NextKeyPins string `json:"next_key_pins"`
	// Per-source limits (server.ParseRate: "N/duration" or "off"). Sign-ins
	// that prove an enrolled laptop's key are exempt from LoginRate.
	LoginRate      string `json:"login_rate"`      // ZAITAKU_LOGIN_RATE
	RefreshRate    string `json:"refresh_rate"`    // ZAITAKU_REFRESH_RATE
	TrustedProxies string `json:"trusted_proxies"` // ZAITAKU_TRUSTED_PROXIES: comma-separated IPs/CIDRs whose X-Forwarded-For is read
	// Web meetings' media: one UDP port for every participant.
	MeetUDP       string `json:"meet_udp"`        // ZAITAKU_MEET_UDP: host:port, or "off"
	MeetPublicIPs string `json:"meet_public_ips"` // ZAITAKU_MEET_PUBLIC_IPS: comma-separated, announced instead of the local addresses (1:1 NAT)
	MeetTURNTCP   string `json:"meet_turn_tcp"`   // ZAITAKU_MEET_TURN_TCP: host:port of the embedded TURN server over TCP, or off
	// ZAITAKU_MEET_TURN_TLS: host:port of the same TURN server over TLS
	// (the broker's own certificate), or off: for networks that let only
	// TLS out, on 443. Off by default: 443 needs a capability the
	// packaged unit does not give, and an upgrade opens no port by itself.
	MeetTURNTLS string `json:"meet_turn_tls"`
	MeetICETCP  string `json:"meet_ice_tcp"` // ZAITAKU_MEET_ICE_TCP: host:port for ICE over TCP (one port, all participants), or off
	// MeetICEServers names a JSON file of the site's own STUN/TURN servers
	// (a file, not a flag value, so that TURN passwords stay out of the
	// process list and the shell history).
	MeetICEServers string `json:"meet_ice_servers"` // ZAITAKU_MEET_ICE_SERVERS
	// LDAP, in the config file only, signs staff in against the city's
	// directory instead of local passwords (broker/directory).
	LDAP *directory.Config `json:"ldap,omitempty"`
	// The admin console in the browser: who may reach it, and its idle
	// sign-out.
	ConsoleAllow string `json:"console_allow"` // ZAITAKU_CONSOLE_ALLOW: comma-separated CIDRs (default the private ranges)
	ConsoleIdle  string `json:"console_idle"`  // ZAITAKU_CONSOLE_IDLE: e.g. 15m
	// ZAITAKU_ADVERTISE: this broker's own address (host:port) as
	// browsers and apps reach it past the load balancer, where several
	// brokers share one database: a meeting is hosted by one broker and
	// the others send its participants here. Default: the listen address.
	Advertise string `json:"advertise"`
	// How long a session slot lives without the app's heartbeat (the app
	// beats every third of it): how soon a crashed laptop's, or a dead
	// broker's, slots go back to the queue.
	SlotLease string `json:"slot_lease"` // ZAITAKU_SLOT_LEASE: e.g. 90s
}

// DefaultConfig is the configuration with nothing set.
func DefaultConfig() Config { return defaults() }

func defaults() Config {
	// 20 sign-ins a minute per address is far more than the first-time
	// sign-ins of one office (later ones prove their laptop and are not
	// counted) and far less than a password spray needs. A refresh comes
	// every ~11 minutes per laptop, and all at once when an office starts
	// its apps: 300 a minute covers an office of a few hundred.
	return Config{Data: "./zaitaku-data", Listen: ":8443", LogFormat: "text", LogLevel: "info", Synchronous: "NORMAL",
		LoginRate: "20/1m", RefreshRate: "300/1m",
		// The media port has the HTTPS port's number, so that a firewall
		// rule names one port for both (TCP and UDP).
		MeetUDP: ":8443", MeetTURNTCP: ":3478", MeetTURNTLS: "off", MeetICETCP: "off",
		ConsoleAllow: console.DefaultAllow, ConsoleIdle: "15m", SlotLease: "90s"}
}

// ParseServe reads `broker serve` arguments, the environment and -config.
func ParseServe(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	cfg := defaults()
	fs := flag.NewFlagSet("broker serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var file string
	fs.StringVar(&file, "config", "", "JSON config `file` (keys as the flags, e.g. {\"listen\": \":8443\"}; lines starting with // are comments)")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data `dir`ectory: database, certificate, secret key (env ZAITAKU_DATA)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "`addr`ess to serve HTTPS on (env ZAITAKU_LISTEN)")
	fs.StringVar(&cfg.DB, "db", "", "database `URL`; empty: SQLite file in the data dir (env ZAITAKU_DB)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate `file`; empty: a self-signed one in the data dir (env ZAITAKU_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key `file` for -tls-cert (env ZAITAKU_TLS_KEY)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "`URL` clients use to reach this broker (env ZAITAKU_PUBLIC_URL)")
	fs.StringVar(&cfg.NextKeyPins, "next-key-pins", "", "key `pins` (sha256/..., comma-separated) of the next TLS key, announced to laptops before the broker uses it (env ZAITAKU_NEXT_KEY_PINS)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: json or text (env ZAITAKU_LOG_FORMAT)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (env ZAITAKU_LOG_LEVEL)")
	fs.StringVar(&cfg.Synchronous, "sqlite-synchronous", cfg.Synchronous, "SQLite durability: NORMAL or FULL (env ZAITAKU_SQLITE_SYNCHRONOUS)")
	fs.BoolVar(&cfg.Demo, "demo", false, "seed demo staff, departments and office PCs (env ZAITAKU_DEMO)")
	fs.BoolVar(&cfg.Insecure, "insecure-http", false, "serve plain HTTP (only behind a TLS-terminating proxy) (env ZAITAKU_INSECURE_HTTP)")
	fs.BoolVar(&cfg.UnboundTunnels, "unbound-tunnels", false, "with -insecure-http: let RDP tunnels run without channel binding; the link from the proxy must be a trusted network (env ZAITAKU_UNBOUND_TUNNELS)")
	fs.StringVar(&cfg.LoginRate, "login-rate", cfg.LoginRate, "sign-ins per source `N/duration` (e.g. 20/1m) or off; laptops that prove their enrolled key are exempt (env ZAITAKU_LOGIN_RATE)")
	fs.StringVar(&cfg.RefreshRate, "refresh-rate", cfg.RefreshRate, "token refreshes per source `N/duration` or off (env ZAITAKU_REFRESH_RATE)")
	fs.StringVar(&cfg.TrustedProxies, "trusted-proxies", "", "comma-separated `IPs/CIDRs` of reverse proxies whose X-Forwarded-For names the source (env ZAITAKU_TRUSTED_PROXIES)")
	fs.StringVar(&cfg.MeetUDP, "meet-udp", cfg.MeetUDP, "UDP `addr`ess for all web meeting media, or off (env ZAITAKU_MEET_UDP)")
	fs.StringVar(&cfg.MeetPublicIPs, "meet-public-ips", "", "`IPs` (comma-separated) to announce for meeting media when the broker is behind 1:1 NAT (env ZAITAKU_MEET_PUBLIC_IPS)")
	fs.StringVar(&cfg.MeetTURNTCP, "meet-turn-tcp", cfg.MeetTURNTCP, "TCP `addr`ess of the embedded TURN server for browsers that cannot send UDP, or off (env ZAITAKU_MEET_TURN_TCP)")
	fs.StringVar(&cfg.MeetTURNTLS, "meet-turn-tls", cfg.MeetTURNTLS, "TCP `addr`ess of the embedded TURN server over TLS with the broker's certificate (e.g. :443, for networks that let only TLS out), or off (env ZAITAKU_MEET_TURN_TLS)")
	fs.StringVar(&cfg.MeetICETCP, "meet-ice-tcp", cfg.MeetICETCP, "TCP `addr`ess for ICE over TCP (media straight to the SFU over one TCP port, for networks that block UDP but not this port), or off (env ZAITAKU_MEET_ICE_TCP)")
	fs.StringVar(&cfg.MeetICEServers, "meet-ice-servers", "", "JSON `file` of the site's own STUN/TURN servers for meeting pages, e.g. [{\"urls\":[\"turns:turn.example.lg.jp:443\"],\"username\":\"u\",\"credential\":\"p\"}] (env ZAITAKU_MEET_ICE_SERVERS)")
	fs.StringVar(&cfg.ConsoleAllow, "console-allow", cfg.ConsoleAllow, "comma-separated `CIDRs` the admin console answers (the office network; default the private ranges) (env ZAITAKU_CONSOLE_ALLOW)")
	fs.StringVar(&cfg.ConsoleIdle, "console-idle", cfg.ConsoleIdle, "sign the admin console out after this `duration` without use (env ZAITAKU_CONSOLE_IDLE)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "this broker's own `host:port` as clients reach it, where several brokers share one database (meetings are sent to the broker hosting them); default the listen address (env ZAITAKU_ADVERTISE)")
	fs.StringVar(&cfg.SlotLease, "slot-lease", cfg.SlotLease, "a session slot lives this `duration` without the app's heartbeat (3s to 1h; env ZAITAKU_SLOT_LEASE)")
	// Find -config first so that flags given on the command line win over it.
	for i, a := range args {
		if v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "config="); ok {
			file = v
		} else if strings.TrimLeft(a, "-") == "config" && i+1 < len(args) {
			file = args[i+1]
		}
	}
	if file == "" {
		file = getenv("ZAITAKU_CONFIG")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return cfg, fmt.Errorf("config file: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(stripComments(string(b))))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("config file %s: %w (keys: %s)", file, err, strings.Join(configKeys(), ", "))
		}
	}
	env := map[string]*string{
		"ZAITAKU_DATA": &cfg.Data, "ZAITAKU_LISTEN": &cfg.Listen, "ZAITAKU_DB": &cfg.DB,
		"ZAITAKU_TLS_CERT": &cfg.TLSCert, "ZAITAKU_TLS_KEY": &cfg.TLSKey, "ZAITAKU_PUBLIC_URL": &cfg.PublicURL,
		"ZAITAKU_NEXT_KEY_PINS": &cfg.NextKeyPins,
		"ZAITAKU_LOG_FORMAT":    &cfg.LogFormat, "ZAITAKU_LOG_LEVEL": &cfg.LogLevel, "ZAITAKU_SQLITE_SYNCHRONOUS": &cfg.Synchronous,
		"ZAITAKU_LOGIN_RATE": &cfg.LoginRate, "ZAITAKU_REFRESH_RATE": &cfg.RefreshRate, "ZAITAKU_TRUSTED_PROXIES": &cfg.TrustedProxies,
		"ZAITAKU_MEET_UDP": &cfg.MeetUDP, "ZAITAKU_MEET_PUBLIC_IPS": &cfg.MeetPublicIPs,
		"ZAITAKU_MEET_TURN_TCP":    &cfg.MeetTURNTCP,
		"ZAITAKU_MEET_TURN_TLS":    &cfg.MeetTURNTLS,
		"ZAITAKU_MEET_ICE_TCP":     &cfg.MeetICETCP,
		"ZAITAKU_MEET_ICE_SERVERS": &cfg.MeetICEServers,
		"ZAITAKU_CONSOLE_ALLOW":    &cfg.ConsoleAllow, "ZAITAKU_CONSOLE_IDLE": &cfg.ConsoleIdle,
		"ZAITAKU_ADVERTISE":  &cfg.Advertise,
		"ZAITAKU_SLOT_LEASE": &cfg.SlotLease,
	}
	for k, p := range env {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	for k, p := range map[string]*bool{"ZAITAKU_DEMO": &cfg.Demo, "ZAITAKU_INSECURE_HTTP": &cfg.Insecure, "ZAITAKU_UNBOUND_TUNNELS": &cfg.UnboundTunnels} {
		if v := getenv(k); v != "" {
			*p = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
		}
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q; see broker serve -h", fs.Arg(0))
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	for _, p := range splitList(c.NextKeyPins) {
		if _, err := api.ParsePin(p); err != nil {
			return fmt.Errorf("-next-key-pins: %w", err)
		}
	}
	if c.UnboundTunnels && !c.Insecure {
		return errors.New("-unbound-tunnels is only for -insecure-http: over the broker's own TLS every tunnel is bound to its connection")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("give both -tls-cert and -tls-key, or neither (a self-signed certificate is made)")
	}
	if a := c.Advertise; a != "" && !strings.Contains(a, "://") {
		if h, p, err := net.SplitHostPort(a); err != nil || h == "" || p == "" {
			return fmt.Errorf("-advertise %q: give this broker's own host:port as clients reach it (e.g. broker2.city.local:8443)", a)
		}
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return fmt.Errorf("log format %q: use json or text", c.LogFormat)
	}
	if err := c.validateDB(); err != nil {
		return err
	}
	if _, err := c.RateLimits(); err != nil {
		return err
	}
	if err := validateListen(c.Listen); err != nil {
		return err
	}
	if c.MeetUDP != "off" && c.MeetUDP != "" {
		if _, _, err := net.SplitHostPort(c.MeetUDP); err != nil {
			return fmt.Errorf("-meet-udp %q: use HOST:PORT, :PORT or off, e.g. :8443", c.MeetUDP)
		}
	}
	if c.MeetTURNTCP != "off" && c.MeetTURNTCP != "" {
		if _, _, err := net.SplitHostPort(c.MeetTURNTCP); err != nil {
			return fmt.Errorf("-meet-turn-tcp %q: use HOST:PORT, :PORT or off, e.g. :3478", c.MeetTURNTCP)
		}
	}
	if c.MeetICETCP != "off" && c.MeetICETCP != "" {
		if _, _, err := net.SplitHostPort(c.MeetICETCP); err != nil {
			return fmt.Errorf("-meet-ice-tcp %q: use HOST:PORT, :PORT or off, e.g. :8444", c.MeetICETCP)
		}
	}
	if err := c.validateTURNTLS(); err != nil {
		return err
	}
	if _, err := c.SiteICEServers(); err != nil {
		return err
	}
	if _, err := c.Console(nil); err != nil {
		return err
	}
	if _, err := c.Lease(); err != nil {
		return err
	}
	for _, ip := range splitList(c.MeetPublicIPs) {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("-meet-public-ips: %q is not an IP address", ip)
		}
	}
	return nil
}

// Console is the admin console's configuration; seed (the data
// directory's secret key) keeps its device key the same across restarts.
func (c Config) Console(seed []byte) (console.Config, error) {
	allow, err := console.ParseAllow(c.ConsoleAllow)
	if err != nil {
		return console.Config{}, fmt.Errorf("-console-allow: %w", err)
	}
	idle, err := time.ParseDuration(c.ConsoleIdle)
	if err != nil || idle < time.Minute || idle > 8*time.Hour {
		return console.Config{}, fmt.Errorf("-console-idle %q: a duration from 1m to 8h, e.g. 15m", c.ConsoleIdle)
	}
	return console.Config{Allow: allow, Idle: idle, Seed: seed}, nil
}

// maxICEServers bounds what every meeting page is handed.
const maxICEServers = 8

// SiteICEServers reads -meet-ice-servers: the site's STUN/TURN servers,
// handed to meeting pages after the broker's own TURN (none: nil).
func (c Config) SiteICEServers() ([]api.MeetICEServer, error) {
	if c.MeetICEServers == "" {
		return nil, nil
	}
	const example = `[{"urls":["turns:turn.example.lg.jp:443"],"username":"u","credential":"p"}]`
	b, err := os.ReadFile(c.MeetICEServers)
	if err != nil {
		return nil, fmt.Errorf("-meet-ice-servers: %w (a JSON file such as %s)", err, example)
	}
	var list []api.MeetICEServer
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("-meet-ice-servers %s: not a JSON list of servers (%v); write it as %s", c.MeetICEServers, err, example)
	}
	if len(list) == 0 || len(list) > maxICEServers {
		return nil, fmt.Errorf("-meet-ice-servers %s: %d servers; give 1 to %d", c.MeetICEServers, len(list), maxICEServers)
	}
	for i, s := range list {
		if len(s.URLs) == 0 {
			return nil, fmt.Errorf("-meet-ice-servers %s: server %d has no urls; e.g. %s", c.MeetICEServers, i+1, example)
		}
		for _, u := range s.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			switch scheme {
			case "stun":
			case "turn", "turns":
				if s.Username == "" || s.Credential == "" {
					return nil, fmt.Errorf("-meet-ice-servers %s: %s needs a username and a credential", c.MeetICEServers, u)
				}
			default:
				return nil, fmt.Errorf("-meet-ice-servers %s: %q is not a stun:, turn: or turns: URL", c.MeetICEServers, u)
			}
		}
	}
	return list, nil
}

// validateTURNTLS checks -meet-turn-tls: an address, a certificate of
// the broker's own to serve on it, and a TCP port no other listener of
// the broker has.
func (c Config) validateTURNTLS() error {
	a := c.MeetTURNTLS
	if a == "off" || a == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("-meet-turn-tls %q: use HOST:PORT, :PORT or off, e.g. :443", a)
	}
	if c.Insecure {
		return errors.New("-meet-turn-tls serves the broker's own certificate, which -insecure-http does not have: set -meet-turn-tls off, or serve TLS on the broker")
	}
	if port == "0" {
		return nil
	}
	// Two addresses of one port clash unless each names its own IP.
	anyIP := func(h string) bool { ip := net.ParseIP(h); return h == "" || ip != nil && ip.IsUnspecified() }
	for flag, other := range map[string]string{"-listen": c.Listen, "-meet-turn-tcp": c.MeetTURNTCP, "-meet-ice-tcp": c.MeetICETCP} {
		if h, p, err := net.SplitHostPort(other); err == nil && p == port && (h == host || anyIP(h) || anyIP(host)) {
			return fmt.Errorf("-meet-turn-tls %s has the TCP port of %s %s: give TURN over TLS a port of its own, e.g. :443", a, flag, other)
		}
	}
	return nil
}

// configKeys are the keys a -config file may hold.
func configKeys() []string {
	var keys []string
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Meet is the meetings' media configuration for broker/services.
func (c Config) Meet() services.MeetConfig {
	if c.MeetUDP == "off" || c.MeetUDP == "" {
		return services.MeetConfig{}
	}
	host, _, _ := net.SplitHostPort(c.MeetUDP)
	ip := net.ParseIP(host)
	// Bound to loopback, the loopback address is the only one to announce.
	mc := services.MeetConfig{UDP: c.MeetUDP, PublicIPs: splitList(c.MeetPublicIPs), Loopback: ip != nil && ip.IsLoopback()}
	if c.MeetTURNTCP != "off" {
		mc.TURNTCP = c.MeetTURNTCP
	}
	if c.MeetTURNTLS != "off" {
		mc.TURNTLS = c.MeetTURNTLS // with the certificate Open loads
	}
	if c.MeetICETCP != "off" {
		mc.ICETCP = c.MeetICETCP
	}
	mc.ICEServers, _ = c.SiteICEServers() // checked at start (validate)
	return mc
}

// advertiseURL is this broker's own base URL: -advertise (host:port, or
// a URL), or else the address it listens on (served as served).
func (c Config) advertiseURL(listening string) string {
	a := strings.TrimRight(c.Advertise, "/")
	switch {
	case a == "":
		return listening
	case strings.Contains(a, "://"):
		return a
	case c.Insecure:
		return "http://" + a
	}
	return "https://" + a
}

// validateDB checks -db before anything is created for it, for serve and
// for one-shot commands alike.
func (c Config) validateDB() error {
	if IsPostgres(c.DB) {
		if _, err := pgconn.ParseConfig(c.DB); err != nil {
			return fmt.Errorf("PostgreSQL URL: %v (use postgres://USER:PASSWORD@HOST:5432/DBNAME)", err)
		}
		return nil
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "file:") && !strings.HasSuffix(c.DB, ".db") {
		return fmt.Errorf("database URL %q: use a SQLite file path, postgres://USER:PASSWORD@HOST:5432/DBNAME, or leave it empty", c.DB)
	}
	return nil
}

// validateListen checks -listen's form, so that a typo is not reported as
// a busy port.
func validateListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: use HOST:PORT or :PORT, e.g. :8443", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("-listen %q: the port must be a number from 0 to 65535, e.g. :8443", addr)
	}
	return nil
}

// splitList splits a comma-separated setting, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// RateLimits parses the per-source limits.
func (c Config) RateLimits() (server.RateLimits, error) {
	var l server.RateLimits
	var err error
	if l.Login, err = server.ParseRate(c.LoginRate); err != nil {
		return l, fmt.Errorf("-login-rate: %w", err)
	}
	if l.Refresh, err = server.ParseRate(c.RefreshRate); err != nil {
		return l, fmt.Errorf("-refresh-rate: %w", err)
	}
	if l.TrustedProxies, err = server.ParseProxies(c.TrustedProxies); err != nil {
		return l, fmt.Errorf("-trusted-proxies: %w", err)
	}
	return l, nil
}

// Lease is the slot lease SlotLease sets (0 when empty: the default).
func (c Config) Lease() (time.Duration, error) {
	if c.SlotLease == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(c.SlotLease)
	if err != nil || d < 3*time.Second || d > time.Hour {
		return 0, fmt.Errorf("-slot-lease %q: a duration from 3s to 1h, e.g. 90s", c.SlotLease)
	}
	return d, nil
}
