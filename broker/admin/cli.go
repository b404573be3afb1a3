// Package admin is the broker's command line: `broker serve` and the IT
// commands `broker admin <noun> <verb>`. Admin commands open the data
// directory directly (SQLite allows this next to a running broker), so the
// first admin can be created before anyone can sign in.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// Env is what a command gets.
type Env struct {
	Out, Err io.Writer
	Broker   *daemon.Broker
	Actor    string // "cli:<os user>"
}

// command is one `broker admin <noun> <verb>`.
type command struct {
	noun, verb string
	usage      string // arguments, e.g. "[--admin] --name NAME ID"
	help       string
	run        func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error
	flags      func(fs *flag.FlagSet)
}

var commands []command

func register(cs ...command) { commands = append(commands, cs...) }

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
	b, err := daemon.Open(ctx, cfg, log, daemon.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "broker:", err)
		return 1
	}
	defer b.Close()
	if cfg.Demo {
		if err := daemon.SeedDemo(ctx, b, stdout); err != nil {
			fmt.Fprintln(stderr, "broker: demo data:", err)
			return 1
		}
	}
	err = b.Serve(ctx, func(r daemon.Ready) {
		fmt.Fprintf(stdout, "Zaitaku broker %s serving on %s\n", daemon.Version, r.URL)
		if r.Fingerprint != "" {
			fmt.Fprintf(stdout, "Certificate SHA-256 fingerprint: %s\n", r.Fingerprint)
		}
		fmt.Fprintf(stdout, "Data directory: %s\n", cfg.Data)
		if !hasAdmin(ctx, b) {
			fmt.Fprintf(stdout, "No IT administrator yet. Create the first one with:\n  broker admin users create --admin --name NAME STAFF_ID -data %s\n", cfg.Data)
		}
		log.Info("serving", "url", r.URL, "fingerprint", r.Fingerprint, "data", cfg.Data)
	})
	if err != nil {
		fmt.Fprintln(stderr, "broker:", err)
		return 1
	}
	return 0
}

func hasAdmin(ctx context.Context, b *daemon.Broker) bool {
	us, err := b.Server.Auth().ListUsers(ctx, "")
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
	if len(args) < 2 || args[0] == "help" {
		adminUsage(stderr)
		if len(args) > 0 && args[0] == "help" {
			return 0
		}
		return 2
	}
	var cmd *command
	for i := range commands {
		if commands[i].noun == args[0] && commands[i].verb == args[1] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "broker admin: unknown command %q\n\n", strings.Join(args[:2], " "))
		adminUsage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("broker admin "+cmd.noun+" "+cmd.verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := daemon.DefaultConfig()
	fs.StringVar(&cfg.Data, "data", envOr(getenv, "ZAITAKU_DATA", cfg.Data), "data directory of the broker")
	fs.StringVar(&cfg.DB, "db", getenv("ZAITAKU_DB"), "database URL (default: SQLite in the data dir)")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: broker admin %s %s %s\n%s\n", cmd.noun, cmd.verb, cmd.usage, cmd.help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleave(args[2:])); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := daemon.NewLogger(daemon.Config{LogFormat: "text", LogLevel: "warn"}, stderr)
	b, err := daemon.Open(ctx, cfg, log, daemon.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "broker admin:", err)
		return 1
	}
	defer b.Close()
	actor := "cli"
	if u := getenv("USER"); u != "" {
		actor = "cli:" + u
	}
	env := &Env{Out: stdout, Err: stderr, Broker: b, Actor: actor}
	if err := cmd.run(ctx, env, fs, fs.Args()); err != nil {
		if e := api.AsError(err); e != nil {
			fmt.Fprintf(stderr, "broker admin: %s\n", e.Message)
			if e.Detail != "" {
				fmt.Fprintf(stderr, "  %s\n", e.Detail)
			}
		} else {
			fmt.Fprintln(stderr, "broker admin:", err)
		}
		return 1
	}
	return 0
}

// interleave moves flags after positional arguments to the front, so both
// `users create ID --admin` and `users create --admin ID` work.
func interleave(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			// A flag's separate value follows it unless given with '='
			// or the flag is boolean (boolean flags are listed in boolFlags).
			if !strings.Contains(a, "=") && !boolFlags[strings.TrimLeft(a, "-")] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// boolFlags names the boolean flags across commands (for interleave).
var boolFlags = map[string]bool{"admin": true, "supervisor": true, "json": true, "force-change": true}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

func adminUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: broker admin <noun> <verb> [flags] [args]   (-data DIR as for serve)")
	cs := append([]command(nil), commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].noun+cs[i].verb < cs[j].noun+cs[j].verb })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-28s %s\n", c.noun+" "+c.verb+" "+c.usage, c.help)
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
