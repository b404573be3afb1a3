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
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/slots"
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

func (f reportFlags) query() api.ReportQuery {
	return api.ReportQuery{Period: *f.period, From: *f.from, To: *f.to, Department: *f.dept}
}

// usageReports are the usage reports, on the data directory or from the
// running broker IT is logged in to; the range is read by the side that
// has the data (the broker's clock decides "today").
type usageReports interface {
	Usage(ctx context.Context, q api.ReportQuery) (api.UsageReport, error)
	WhatIf(ctx context.Context, q api.ReportQuery, capN int) (api.WhatIfReport, error)
}

// localReports reads the store; the cap is the stored one.
func localReports(cfg services.Config, st slots.Store) usageReports {
	return localReportService{services.NewReports(cfg, func() int {
		c, err := st.LoadConfig(context.Background())
		if err != nil {
			return slots.DefaultPolicy.Cap // IT never set one
		}
		return c.Cap
	})}
}

type localReportService struct{ s *report.Service }

func (l localReportService) Usage(ctx context.Context, q api.ReportQuery) (api.UsageReport, error) {
	rq, err := report.ParseQuery(q.Period, q.From, q.To, q.Department, time.Now())
	if err != nil {
		return api.UsageReport{}, err
	}
	return l.s.Usage(ctx, rq)
}

func (l localReportService) WhatIf(ctx context.Context, q api.ReportQuery, capN int) (api.WhatIfReport, error) {
	rq, err := report.ParseQuery(q.Period, q.From, q.To, q.Department, time.Now())
	if err != nil {
		return api.WhatIfReport{}, err
	}
	return l.s.WhatIf(ctx, rq, capN)
}

type remoteReports struct{ c *api.Client }

func (r remoteReports) Usage(ctx context.Context, q api.ReportQuery) (api.UsageReport, error) {
	rep, err := r.c.UsageReport(ctx, q)
	if err != nil {
		return api.UsageReport{}, err
	}
	return *rep, nil
}

func (r remoteReports) WhatIf(ctx context.Context, q api.ReportQuery, capN int) (api.WhatIfReport, error) {
	rep, err := r.c.WhatIf(ctx, q, capN)
	if err != nil {
		return api.WhatIfReport{}, err
	}
	return *rep, nil
}

func reportUsage(fs *flag.FlagSet) runFunc {
	f := defineReportFlags(fs, true)
	return func(ctx context.Context, env *Env, args []string) error {
		rep, err := env.Reports.Usage(ctx, f.query())
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
		rep, err := env.Reports.WhatIf(ctx, f.query(), *capN)
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
