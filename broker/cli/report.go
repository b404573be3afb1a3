package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/report"
)

type reportFlags struct {
	period, from, to, dept, out *string
	csv, json                   *bool
}

func defineReportFlags(fs *flag.FlagSet, withPeriod bool) reportFlags {
	f := reportFlags{period: new(string)}
	if withPeriod {
		f.period = fs.String("period", api.PeriodDay, "day, week or month (JST)")
	}
	f.from = fs.String("from", "", "first day: 2027-04-01 (JST) or RFC 3339")
	f.to = fs.String("to", "", "end (exclusive), default the start of tomorrow")
	f.dept = fs.String("department", "", "one department only, e.g. 総務課")
	f.csv = fs.Bool("csv", false, "CSV with Japanese headers (UTF-8 with BOM, for Excel)")
	f.out = fs.String("out", "", "with --csv: write to this file (default: standard output)")
	f.json = fs.Bool("json", false, "print JSON")
	return f
}

func (f reportFlags) query() (report.Query, error) {
	return report.ParseQuery(*f.period, *f.from, *f.to, *f.dept, time.Now())
}

func reportUsage(fs *flag.FlagSet) runFunc {
	f := defineReportFlags(fs, true)
	return func(ctx context.Context, env *Env, args []string) error {
		q, err := f.query()
		if err != nil {
			return err
		}
		rep, err := env.Reports.Usage(ctx, q)
		if err != nil {
			return err
		}
		switch {
		case *f.csv:
			_, err := exportTo(env, *f.out, "rows", func(w io.Writer) (int, error) { return report.WriteUsageCSV(w, rep) })
			return err
		case *f.json:
			return printJSON(env.Out, rep)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PERIOD\tDEPARTMENT\tPEAK\tHOURS\tSESSIONS\tPEOPLE\tPER PERSON\tQUEUED\tMEAN WAIT\tMAX WAIT\tGAVE UP")
		for _, r := range rep.Rows {
			d := r.Department
			if d == "" {
				d = "(all)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%d\t%d\t%.2f\t%d\t%s\t%s\t%d\n", r.Label, api.Printable(d), r.PeakConcurrent,
				r.HoursConnected, r.Sessions, r.People, r.SessionsPerPerson, r.Queued,
				seconds(int64(r.WaitMeanSeconds)), seconds(r.WaitMaxSeconds), r.GaveUp)
		}
		tw.Flush()
		fmt.Fprintf(env.Out, "cap now: %d\n", rep.Cap)
		return nil
	}
}

func reportWhatIf(fs *flag.FlagSet) runFunc {
	f := defineReportFlags(fs, false)
	capN := fs.Int("cap", 0, "the cap to replay the recorded demand against")
	return func(ctx context.Context, env *Env, args []string) error {
		if *capN < 1 {
			return fmt.Errorf("--cap: the number of sessions to replay against, e.g. --cap 200")
		}
		q, err := f.query()
		if err != nil {
			return err
		}
		rep, err := env.Reports.WhatIf(ctx, q, *capN)
		if err != nil {
			return err
		}
		switch {
		case *f.csv:
			_, err := exportTo(env, *f.out, "days", func(w io.Writer) (int, error) { return report.WriteWhatIfCSV(w, rep) })
			return err
		case *f.json:
			return printJSON(env.Out, rep)
		}
		fmt.Fprintf(env.Out, "with a cap of %d, of %d requests from %s to %s:\n", rep.Cap, rep.Replayed,
			rep.From.In(report.JST).Format(time.DateOnly), rep.To.In(report.JST).Format(time.DateOnly))
		fmt.Fprintf(env.Out, "  %d would have queued, %s on average, %s at most; at most %d waiting at once\n",
			rep.Queued, seconds(int64(rep.WaitMeanSeconds)), seconds(rep.WaitMaxSeconds), rep.PeakQueue)
		fmt.Fprintf(env.Out, "  as recorded: %d queued, %s on average, %s at most\n",
			rep.Recorded.Queued, seconds(int64(rep.Recorded.WaitMeanSeconds)), seconds(rep.Recorded.WaitMaxSeconds))
		if rep.NotReplayed > 0 {
			fmt.Fprintf(env.Out, "  %d requests left the queue before a grant and are not replayed (their length is unknown)\n", rep.NotReplayed)
		}
		return nil
	}
}

func seconds(s int64) string { return (time.Duration(s) * time.Second).String() }
