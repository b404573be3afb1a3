package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/api"
)

func capShow(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		p, err := env.Sessions.SlotConfig(ctx)
		if err != nil {
			return err
		}
		return printJSON(env.Out, p)
	}
}

func capSet(fs *flag.FlagSet) runFunc {
	idle := fs.Int("idle", -1, "idle timeout in minutes (0: off; default: unchanged)")
	maxMin := fs.Int("max", -1, "maximum session length in minutes (0: off; default: unchanged)")
	warnMin := fs.Int("warn", -1, "warning before the end, minutes (default: unchanged)")
	return func(ctx context.Context, env *Env, args []string) error {
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
		}{{*idle, &up.IdleMinutes}, {*maxMin, &up.MaxMinutes}, {*warnMin, &up.WarnMinutes}} {
			if f.v >= 0 {
				v := f.v
				*f.dst = &v
			}
		}
		p, err := env.Sessions.SetSlotConfig(ctx, env.Actor, up)
		if err != nil {
			return err
		}
		return printJSON(env.Out, p)
	}
}

var rdpSetHelp = "what the RDP client may redirect: none (the LGWAN profile, screen only) or a comma-separated list of " +
	strings.Join(api.RDPRedirections, ", ") + "; applies to sessions that start after it"

func rdpSet(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "none, or what to allow, e.g. audio,printers"); err != nil {
			return err
		}
		rdp, err := api.ParseRDPPolicy(args[0])
		if err != nil {
			return err
		}
		p, err := env.Sessions.SetSlotConfig(ctx, env.Actor, api.SlotConfigUpdate{RDP: &rdp})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(env.Out, "RDP redirection: %s\n", p.RDP)
		return err
	}
}

func sessionsList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		ss, err := env.Sessions.Live(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
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
			printRow(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f/%.1f\n", s.ID, s.UserID, s.UserName, s.State, pc,
				since.Local().Format("01-02 15:04"), float64(s.BytesUp)/1e6, float64(s.BytesDown)/1e6)
		}
		return tw.Flush()
	}
}

func sessionsEnd(fs *flag.FlagSet) runFunc {
	reason := fs.String("reason", "", "shown to the user, e.g. メンテナンスのため")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one slot ID (see sessions list)"); err != nil {
			return err
		}
		if err := env.Sessions.End(ctx, env.Actor, args[0], *reason); err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "end of %s requested; the broker ends it within seconds\n", args[0])
		return nil
	}
}
