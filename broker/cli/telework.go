package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/csvexport"
)

func teleworkExport(fs *flag.FlagSet) runFunc {
	from := fs.String("from", "", "first day, YYYY-MM-DD (JST)")
	to := fs.String("to", "", "last day, inclusive")
	dept := fs.String("department", "", "one department (default: all)")
	outFile := fs.String("out", "", "write to this file (default: standard output)")
	lang := fs.String("lang", "ja", "CSV headers and words: ja or en")
	tz := fs.String("tz", "JST", "start and end times: JST or UTC")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 0, "no arguments; the range is --from and --to"); err != nil {
			return err
		}
		o, err := csvexport.Parse(*lang, *tz)
		if err != nil {
			return err
		}
		_, err = exportTo(env, *outFile, "rows", func(w io.Writer) (int, error) {
			return env.Telework.Export(ctx, env.Actor, api.TeleworkExportQuery{From: *from, To: *to, Department: *dept}, o, w)
		})
		return err
	}
}

func teleworkPolicies(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		l, err := env.Telework.Policies(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, l.Policies)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEPARTMENT\tMODE\tHOURS\tWARN\tDISCONNECT\tWORKDAY\tUPDATED BY")
		for _, p := range l.Policies {
			hours := "-"
			if p.HoursStart != "" {
				hours = p.HoursStart + "-" + p.HoursEnd
			}
			printRow(tw, "%s\t%s\t%s\t%d\t%v\t%s\t%s\n", p.Department, p.Mode, hours, p.WarnMinutes, p.Disconnect,
				p.WorkStart+"-"+p.WorkEnd, p.UpdatedBy)
		}
		return tw.Flush()
	}
}

// span splits "HH:MM-HH:MM".
func span(flagName, v string) (string, string, error) {
	if v == "" {
		return "", "", nil
	}
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return "", "", fmt.Errorf("--%s: HH:MM-HH:MM", flagName)
	}
	return a, b, nil
}

func teleworkPolicy(fs *flag.FlagSet) runFunc {
	mode := fs.String("mode", "", "free, notice or approval")
	hours := fs.String("hours", "", "allowed hours, HH:MM-HH:MM (JST); empty: any time")
	warn := fs.Int("warn", 0, "minutes of warning before the end of the hours (default 10)")
	disconnect := fs.Bool("disconnect", false, "end sessions at the end of the hours")
	work := fs.String("work", "", "planned working day, HH:MM-HH:MM (default 08:30-17:15)")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one department"); err != nil {
			return err
		}
		p := api.TeleworkPolicy{Department: args[0], Mode: *mode, WarnMinutes: *warn, Disconnect: *disconnect}
		var err error
		if p.HoursStart, p.HoursEnd, err = span("hours", *hours); err != nil {
			return err
		}
		if p.WorkStart, p.WorkEnd, err = span("work", *work); err != nil {
			return err
		}
		got, err := env.Telework.SetPolicy(ctx, env.Actor, p)
		if err != nil {
			return err
		}
		// A running broker reads the policy at each slot request and sweep.
		return printJSON(env.Out, got)
	}
}

func teleworkHolidays(fs *flag.FlagSet) runFunc {
	from := fs.String("from", "", "first day, YYYY-MM-DD")
	to := fs.String("to", "", "last day")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		l, err := env.Telework.Holidays(ctx, *from, *to)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, l.Holidays)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DATE\tKIND\tNAME")
		for _, h := range l.Holidays {
			printRow(tw, "%s\t%s\t%s\n", h.Date, h.Kind, h.Name)
		}
		return tw.Flush()
	}
}

func teleworkHoliday(fs *flag.FlagSet) runFunc {
	municipal := fs.Bool("municipal", false, "the municipality's own day off (default: national)")
	remove := fs.Bool("remove", false, "remove the day off")
	return func(ctx context.Context, env *Env, args []string) error {
		if *remove {
			if err := needArgs(args, 1, "one date"); err != nil {
				return err
			}
			return env.Telework.DeleteHoliday(ctx, env.Actor, args[0])
		}
		if err := needArgs(args, 2, "a date and a name"); err != nil {
			return err
		}
		h := api.Holiday{Date: args[0], Name: args[1], Kind: "national"}
		if *municipal {
			h.Kind = "municipal"
		}
		_, err := env.Telework.PutHoliday(ctx, env.Actor, h)
		return err
	}
}

func teleworkApprovers(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if len(args) == 0 {
			return errors.New("a department, then the approvers' staff IDs to name them")
		}
		var a api.TeleworkApprovers
		var err error
		if len(args) == 1 {
			a, err = env.Telework.Approvers(ctx, args[0])
		} else {
			a, err = env.Telework.SetApprovers(ctx, env.Actor, args[0], args[1:])
		}
		if err != nil {
			return err
		}
		return printJSON(env.Out, a)
	}
}
