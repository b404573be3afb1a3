package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// The CLI shares the broker's database, not its memory: the cap and ends
// written here are applied by the running broker on its next sweep (within
// seconds), or at its next start.
func init() {
	var (
		asJSON                bool
		reason                string
		idle, maxMin, warnMin int
	)
	register(
		command{noun: "cap", verb: "show", help: "the concurrency cap and session policy",
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				p, err := env.Broker.Store.Slots().LoadConfig(ctx)
				if errors.Is(err, slots.ErrNoConfig) {
					p = slots.DefaultPolicy
				} else if err != nil {
					return err
				}
				return printJSON(env.Out, p)
			}},
		command{noun: "cap", verb: "set", usage: "N [--idle MIN] [--max MIN] [--warn MIN]",
			help: "set the concurrency cap (and policy); a running broker applies it within seconds",
			flags: func(fs *flag.FlagSet) {
				fs.IntVar(&idle, "idle", -1, "idle timeout in minutes (0: off; default: unchanged)")
				fs.IntVar(&maxMin, "max", -1, "maximum session length in minutes (0: off; default: unchanged)")
				fs.IntVar(&warnMin, "warn", -1, "warning before the end, minutes (default: unchanged)")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "the cap, e.g. 300"); err != nil {
					return err
				}
				n, err := strconv.Atoi(args[0])
				if err != nil {
					return fmt.Errorf("cap %q: want a number, e.g. 300", args[0])
				}
				up := api.SlotConfigUpdate{Cap: &n}
				for _, f := range []struct {
					v   int
					dst **int
				}{{idle, &up.IdleMinutes}, {maxMin, &up.MaxMinutes}, {warnMin, &up.WarnMinutes}} {
					if f.v >= 0 {
						v := f.v
						*f.dst = &v
					}
				}
				p, err := slots.SavePolicy(ctx, env.Broker.Store.Slots(), env.Broker.Server.Audit(), time.Now(), env.Actor, slots.DefaultPolicy, up)
				if err != nil {
					return err
				}
				return printJSON(env.Out, p)
			}},
		command{noun: "rdp", verb: "set", usage: "none | LIST",
			help: "what the RDP client may redirect: none (the LGWAN profile, screen only) or a comma-separated list of " +
				strings.Join(api.RDPRedirections, ", ") + "; applies to sessions that start after it",
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "none, or what to allow, e.g. audio,printers"); err != nil {
					return err
				}
				rdp, err := api.ParseRDPPolicy(args[0])
				if err != nil {
					return err
				}
				p, err := slots.SavePolicy(ctx, env.Broker.Store.Slots(), env.Broker.Server.Audit(), time.Now(), env.Actor, slots.DefaultPolicy,
					api.SlotConfigUpdate{RDP: &rdp})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(env.Out, "RDP redirection: %s\n", p.RDP)
				return err
			}},
		command{noun: "sessions", verb: "list", usage: "[--json]", help: "live sessions and the queue",
			flags: func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") },
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				ss, err := env.Broker.Store.Slots().LiveSlots(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env.Out, ss)
				}
				tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SLOT\tUSER\tNAME\tSTATE\tPC\tSINCE\tMB UP/DOWN")
				for _, s := range ss {
					since, pc := s.RequestedAt, ""
					if s.State == api.SlotGranted {
						since = s.GrantedAt
					}
					if s.Terminal != nil {
						pc = s.Terminal.ID
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f/%.1f\n", s.ID, s.UserID, s.UserName, s.State, pc,
						since.Local().Format("01-02 15:04"), float64(s.BytesUp)/1e6, float64(s.BytesDown)/1e6)
				}
				return tw.Flush()
			}},
		command{noun: "sessions", verb: "end", usage: "SLOT_ID [--reason TEXT]",
			help: "end a live session or queued request; the user is told the reason",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&reason, "reason", "", "shown to the user, e.g. メンテナンスのため")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "one slot ID (see sessions list)"); err != nil {
					return err
				}
				if err := slots.RequestEnd(ctx, env.Broker.Store.Slots(), env.Broker.Server.Audit(), time.Now(), env.Actor, args[0], reason); err != nil {
					return err
				}
				fmt.Fprintf(env.Out, "end of %s requested; the broker ends it within seconds\n", args[0])
				return nil
			}},
	)
}
