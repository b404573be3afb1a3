// Package cli is the broker's command line: `broker serve` and the IT
// commands `broker admin <noun> <verb>`. Admin commands open the data
// directory directly (SQLite allows this next to a running broker), so the
// first admin can be created before anyone can sign in.
package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/release"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/telework"
	"github.com/zaitaku/zaitaku/broker/terminal"
)

// Env is what a command gets: the services it declared in its needs,
// built on the data directory's store, and nothing else.
type Env struct {
	Out, Err io.Writer
	In       io.Reader // prompts read from it; nil: standard input
	Actor    string    // "cli:<os user>"
	// DataDir is the -data directory; SessionFile the admin session's
	// file (`broker admin login`); Getenv the environment.
	DataDir, SessionFile string
	Getenv               func(string) string

	// Audit records what a local command changed (always, on the data
	// directory); over REST the broker records it and Audit is nil.
	Audit     audit.Recorder
	Auth      accounts
	Oplog     operationLog
	Terminals *terminal.Service
	Sessions  sessionAdmin
	Releases  *release.Service
	Chat      *chat.Service
	Roster    rosterAdmin
	Telework  *telework.Service
	Segments  segmentAdmin
	Reports   usageReports
	Store     daemon.Store // the database itself (db migrate)
}

func (e *Env) in() io.Reader {
	if e.In == nil {
		return os.Stdin
	}
	return e.In
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// needs says which services a command uses; only those are built.
type needs uint16

const (
	needAuth needs = 1 << iota
	needOplog
	needTerminals
	needSlotStore
	needReleases
	needChat     // chat also builds auth: department channels follow the roster
	needRoster   // with auth, which it needs
	needTelework // telework also builds auth: approvers and the export read the roster
	needSegments // network segments and satellite offices (segments.go)
	needReports  // the usage reports, with the stored cap
	needStore    // the database itself (db migrate)
	// needDataDir keeps a command on the data directory even when IT is
	// logged in: what the REST API does not serve (a demo account's code).
	needDataDir
)

// needNothing marks the commands about the admin session itself.
const needNothing needs = 0

// overREST are the needs a running broker's REST API serves: a command
// that needs no more runs there when IT is logged in (remote.go).
const overREST = needAuth | needOplog | needSlotStore | needRoster | needSegments | needReports

// runFunc runs a command on its positional arguments.
type runFunc func(ctx context.Context, env *Env, args []string) error

// command is one `broker admin <noun> <verb>`; the table is commands.go.
type command struct {
	noun, verb string
	usage      string // arguments, e.g. "[--admin] --name NAME ID"
	help       string
	needs      needs
	// define declares the command's flags on fs and returns its run
	// function, which reads them.
	define func(fs *flag.FlagSet) runFunc
}

// Main runs the broker binary's command line and returns the exit code.
func Main(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return serve(ctx, args, getenv, stdout, stderr)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "admin":
		return adminMain(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, daemon.Version)
		return 0
	case "help", "-h", "--help":
		usage(stderr)
		return 0
	}
	fmt.Fprintf(stderr, "broker: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage:
  broker [serve] [flags]          run the broker (broker serve -h for flags)
  broker admin <noun> <verb> ...  IT commands (broker admin help)
  broker version`)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := daemon.ParseServe(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "broker:", err)
		return 2
	}
	log := daemon.NewLogger(cfg, stderr)
	if f := getenv(CPUProfileEnv); f != "" {
		stopProfile, err := startCPUProfile(f)
		if err != nil {
			fmt.Fprintln(stderr, "broker:", err)
			return 1
		}
		defer stopProfile()
	}
	b, err := daemon.Open(ctx, cfg, log, daemon.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "broker:", err)
		return 1
	}
	defer b.Close()
	if cfg.Demo {
		if err := daemon.SeedDemo(ctx, b.Services, stdout); err != nil {
			fmt.Fprintln(stderr, "broker: demo data:", err)
			return 1
		}
		fmt.Fprintf(stdout, "One-time code: %s admin users otp-code yamada -data %s\n", selfCommand(), cfg.Data)
	}
	err = b.Serve(ctx, func(r daemon.Ready) {
		fmt.Fprintf(stdout, "Zaitaku broker %s serving on %s\n", daemon.Version, r.URL)
		if r.Pin != "" {
			// Laptops pin the key; the fingerprint is for comparing with
			// openssl and for laptops set up before key pins.
			fmt.Fprintf(stdout, "Public key pin (SHA-256 of SPKI): %s\n", r.Pin)
			fmt.Fprintf(stdout, "Certificate SHA-256 fingerprint: %s\n", r.Fingerprint)
		}
		fmt.Fprintf(stdout, "Data directory: %s\n", cfg.Data)
		if !hasAdmin(ctx, b) {
			fmt.Fprintf(stdout, "No IT administrator yet. Create the first one with:\n  broker admin users create --admin --name NAME STAFF_ID -data %s\n", cfg.Data)
		}
		log.Info("serving", "url", r.URL, "key_pin", r.Pin, "fingerprint", r.Fingerprint, "data", cfg.Data)
		if cfg.Insecure && cfg.UnboundTunnels {
			fmt.Fprintln(stdout, "Tunnels run WITHOUT channel binding (-unbound-tunnels): the link from the TLS proxy must be a trusted network.")
		}
	})
	if err != nil {
		fmt.Fprintln(stderr, "broker:", err)
		return 1
	}
	return 0
}

// CPUProfileEnv names a file for a CPU profile of `broker serve`, written
// until the broker stops: for the benchmarks, which run the broker as its
// own process (ZAITAKU_BENCH_CPUPROFILE in broker/chat's).
const CPUProfileEnv = "ZAITAKU_CPUPROFILE"

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// selfCommand is how to run this binary again, for commands the broker
// prints: its path, or `go run` when it was started that way.
func selfCommand() string {
	exe := os.Args[0]
	if strings.Contains(exe, "go-build") {
		return "go run ./broker/cmd/broker"
	}
	return exe
}

func hasAdmin(ctx context.Context, b *daemon.Broker) bool {
	us, err := b.Services.Auth.ListUsers(ctx, "")
	if err != nil {
		return true // do not nag on a database error; serve logs it elsewhere
	}
	for _, u := range us {
		if u.HasRole(api.RoleAdmin) && !u.Disabled {
			return true
		}
	}
	return false
}

func adminMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" {
		adminUsage(stderr, "")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := findCommand(args[0], ""), args[1:] // login, logout, whoami
	if cmd == nil && !isNoun(args[0]) {
		fmt.Fprintf(stderr, "broker admin: unknown command %q\n\n", args[0])
		adminUsage(stderr, "")
		return 2
	}
	if cmd == nil && (len(args) == 1 || isHelp(args[1]) || args[1] == "help") {
		adminUsage(stderr, args[0])
		if len(args) == 1 {
			return 2
		}
		return 0
	}
	if cmd == nil {
		cmd, rest = findCommand(args[0], args[1]), args[2:]
	} else if len(rest) > 0 && rest[0] == "help" {
		rest = []string{"--help"}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "broker admin: unknown command %q\n\n", strings.Join(args[:2], " "))
		adminUsage(stderr, args[0])
		return 2
	}
	fs := flag.NewFlagSet("broker admin "+cmd.noun+" "+cmd.verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := daemon.DefaultConfig()
	fs.StringVar(&cfg.Data, "data", envOr(getenv, "ZAITAKU_DATA", cfg.Data), "data directory of the broker")
	fs.StringVar(&cfg.DB, "db", getenv("ZAITAKU_DB"), "database URL (default: SQLite in the data dir)")
	local := fs.Bool("local", false, "run on the data directory even when logged in to a broker (broker admin login)")
	run := cmd.define(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: broker admin %s %s\n%s\n", strings.TrimSpace(cmd.noun+" "+cmd.verb), cmd.usage, cmd.help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleave(fs, rest)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := daemon.NewLogger(daemon.Config{LogFormat: "text", LogLevel: "warn"}, stderr)
	actor := "cli"
	if u := getenv("USER"); u != "" {
		actor = "cli:" + u
	}
	env := &Env{Out: stdout, Err: stderr, Actor: actor, DataDir: cfg.Data, Getenv: getenv}
	closeEnv, err := prepareEnv(ctx, cfg, log, cmd.needs, *local, env)
	if err != nil {
		fmt.Fprintln(stderr, "broker admin:", api.Printable(err.Error()))
		return 1
	}
	defer closeEnv()
	if err := run(ctx, env, fs.Args()); err != nil {
		// A detail may quote what was given: printed escaped, as rows are.
		if e := api.AsError(err); e != nil {
			fmt.Fprintf(stderr, "broker admin: %s\n", e.Message)
			if e.Detail != "" {
				fmt.Fprintf(stderr, "  %s\n", api.Printable(e.Detail))
			}
		} else {
			fmt.Fprintln(stderr, "broker admin:", api.Printable(err.Error()))
		}
		return 1
	}
	return 0
}

// prepareEnv gives the command what it needs: the REST API of the broker
// IT is logged in to, when the API serves all of it and --local is not
// given; otherwise the data directory.
func prepareEnv(ctx context.Context, cfg daemon.Config, log *slog.Logger, n needs, local bool, env *Env) (func(), error) {
	// Without a place for a session there is none: local, and login says
	// what to set.
	env.SessionFile, _ = sessionPath(env.Getenv)
	if n == needNothing {
		return func() {}, nil
	}
	if !local && n&^overREST == 0 && env.SessionFile != "" {
		s, err := loadSession(env.SessionFile)
		if err != nil {
			return nil, err
		}
		if s != nil {
			c, err := s.client(ctx)
			if err != nil {
				return nil, err
			}
			env.Actor = s.StaffID
			env.Auth, env.Oplog, env.Roster, env.Sessions = remoteAccounts{c}, remoteOplog{c}, remoteRoster{c}, remoteSessions{c}
			env.Segments = remoteSegments{c}
			env.Reports = remoteReports{c}
			return func() {}, nil
		}
	}
	return openEnv(ctx, cfg, log, n, env)
}

// openEnv opens the data directory's store and builds the services the
// command needs; nothing listens or runs in the background.
func openEnv(ctx context.Context, cfg daemon.Config, log *slog.Logger, n needs, env *Env) (func(), error) {
	st, key, err := daemon.OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	env.Store = st
	scfg := services.Config{Stores: st, Log: log, SecretKey: key}
	op, err := services.NewOplog(scfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	env.Audit = op
	if n&needOplog != 0 {
		env.Oplog = localOplog{op}
	}
	// Chat's department channels, the roster and telework follow auth's staff.
	if n&(needChat|needRoster|needTelework) != 0 {
		n |= needAuth
	}
	var au *auth.Service
	if n&needAuth != 0 {
		if au, err = services.NewAuth(scfg, op); err != nil {
			st.Close()
			return nil, err
		}
		env.Auth = localAccounts{au}
	}
	if n&needTerminals != 0 {
		env.Terminals = services.NewTerminals(scfg, op)
	}
	if n&needSegments != 0 {
		env.Segments = services.NewTerminals(scfg, op)
	}
	if n&needSlotStore != 0 {
		env.Sessions = localSessions{st.Slots(), op}
	}
	if n&needReleases != 0 {
		if env.Releases, err = services.NewReleases(scfg, op); err != nil {
			st.Close()
			return nil, err
		}
	}
	if n&needChat != 0 {
		if env.Chat, err = services.NewChat(scfg, au, nil, op); err != nil {
			st.Close()
			return nil, err
		}
	}
	if n&needRoster != 0 {
		// A running broker reads its PC pool again within its sweep.
		env.Roster = services.NewRoster(scfg, op, au, nil)
	}
	if n&needTelework != 0 {
		if env.Telework, err = services.NewTelework(scfg, au, op); err != nil {
			st.Close()
			return nil, err
		}
	}
	if n&needReports != 0 {
		env.Reports = localReports(scfg, st.Slots())
	}
	return func() { st.Close() }, nil
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func isNoun(noun string) bool {
	for _, c := range commands {
		if c.noun == noun {
			return true
		}
	}
	return false
}

func findCommand(noun, verb string) *command {
	for i := range commands {
		if commands[i].noun == noun && commands[i].verb == verb {
			return &commands[i]
		}
	}
	return nil
}

// interleave moves flags after positional arguments to the front, so both
// `users create ID --admin` and `users create --admin ID` work. A flag's
// separate value follows it unless given with '=' or the flag is boolean,
// which the flag set itself says.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && !isBoolFlag(fs, strings.TrimLeft(a, "-")) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func isBoolFlag(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

// adminUsage lists the commands, or those of one noun.
func adminUsage(w io.Writer, noun string) {
	if noun == "" {
		fmt.Fprintln(w, "usage: broker admin <noun> <verb> [flags] [args]   (-data DIR as for serve; <noun> --help, <noun> <verb> --help)")
	} else {
		fmt.Fprintf(w, "usage: broker admin %s <verb> [flags] [args]   (broker admin %s <verb> --help for its flags)\n", noun, noun)
	}
	for _, c := range commands {
		if noun == "" || c.noun == noun {
			fmt.Fprintf(w, "  %-28s %s\n", strings.TrimSpace(c.noun+" "+c.verb)+" "+c.usage, c.help)
		}
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func decodeStrict(s string, v any) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("give the change as JSON, e.g. --change '{\"lockout_minutes\":30}'")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("change: %w", err)
	}
	return nil
}

func needArgs(args []string, n int, what string) error {
	if len(args) != n {
		return fmt.Errorf("want %s", what)
	}
	return nil
}

// printRow writes one table row with every string argument made
// Printable: names, reasons and uploaded fields come from staff and
// laptops, and a control character in them must not rewrite IT's
// terminal or forge a row.
func printRow(w io.Writer, format string, args ...any) {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = api.Printable(v)
		case fmt.Stringer:
			args[i] = api.Printable(v.String())
		}
	}
	fmt.Fprintf(w, format, args...)
}

// exportTo runs an export into --out (a new file, 0600, synced before it
// is reported) or, without one, to standard output; what counts the rows
// is write's.
func exportTo(env *Env, outFile, unit string, write func(io.Writer) (int, error)) (int, error) {
	if outFile == "" {
		return write(env.Out)
	}
	f, err := os.OpenFile(outFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("export file: %w (choose a new name)", err)
	}
	bw := bufio.NewWriter(f)
	n, err := write(bw)
	if err = errors.Join(err, bw.Flush(), f.Sync(), f.Close()); err != nil {
		// Half an export is no export: nobody should take it for one.
		os.Remove(outFile)
		return 0, err
	}
	fmt.Fprintf(env.Err, "exported %d %s to %s\n", n, unit, outFile)
	return n, nil
}
