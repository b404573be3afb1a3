package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/csvexport"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// oplogFilters are the search flags that several oplog commands share.
type oplogFilters struct {
	user, device, dept, typ, from, to string
	limit                             int
}

func defineFilters(fs *flag.FlagSet) *oplogFilters {
	f := &oplogFilters{}
	fs.StringVar(&f.user, "user", "", "staff ID")
	fs.StringVar(&f.device, "device", "", "device ID")
	fs.StringVar(&f.dept, "department", "", "department, e.g. 総務課")
	fs.StringVar(&f.typ, "type", "", "event type, e.g. login.failed")
	fs.StringVar(&f.from, "from", "", "start: 2026-04-01 (JST) or RFC 3339")
	fs.StringVar(&f.to, "to", "", "end (exclusive): 2026-04-02 (JST) or RFC 3339")
	return f
}

// query turns the filter flags into a search, checked as the broker
// checks it before anything is asked.
func (f *oplogFilters) query() (api.OplogQuery, error) {
	q := api.OplogQuery{User: f.user, Device: f.device, Department: f.dept, Type: f.typ, Limit: f.limit}
	var err error
	if q.From, err = cliTime("from", f.from); err != nil {
		return q, err
	}
	if q.To, err = cliTime("to", f.to); err != nil {
		return q, err
	}
	_, err = oplog.QueryFromAPI(q)
	return q, err
}

func oplogSearch(fs *flag.FlagSet) runFunc {
	f := defineFilters(fs)
	fs.IntVar(&f.limit, "limit", 100, "at most this many events")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		oq, err := f.query()
		if err != nil {
			return err
		}
		page, err := env.Oplog.Search(ctx, oq)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, page)
		}
		printEvents(env.Out, page.Events)
		if page.Next != "" {
			fmt.Fprintf(env.Out, "(more: narrow the search or use --limit, or export)\n")
		}
		return nil
	}
}

func oplogExport(fs *flag.FlagSet) runFunc {
	f := defineFilters(fs)
	format := fs.String("format", "csv", "csv or jsonl")
	outFile := fs.String("out", "", "write to this file (default: standard output)")
	lang := fs.String("lang", "ja", "CSV headers: ja or en")
	tz := fs.String("tz", "JST", "CSV times: JST or UTC")
	return func(ctx context.Context, env *Env, args []string) error {
		oq, err := f.query()
		if err != nil {
			return err
		}
		o, err := csvexport.Parse(*lang, *tz)
		if err != nil {
			return err
		}
		n, err := exportTo(env, *outFile, "events", func(w io.Writer) (int, error) {
			return env.Oplog.Export(ctx, oq, *format, o, w)
		})
		if err != nil {
			return err
		}
		if env.Audit == nil {
			return nil // over REST: the broker recorded the export
		}
		return env.Audit.Record(ctx, auditEvent(env.Actor, "oplog.exported", "",
			map[string]string{"format": *format, "events": fmt.Sprint(n), "via": "cli", "csv": o.String()}))
	}
}

func oplogTimeline(fs *flag.FlagSet) runFunc {
	f := &oplogFilters{}
	fs.StringVar(&f.from, "from", "", "start: 2026-04-01 (JST) or RFC 3339")
	fs.StringVar(&f.to, "to", "", "end (exclusive)")
	fs.IntVar(&f.limit, "limit", 1000, "at most this many events")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one device ID (broker admin devices list)"); err != nil {
			return err
		}
		oq, err := f.query()
		if err != nil {
			return err
		}
		tl, err := env.Oplog.Timeline(ctx, args[0], oq)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, tl)
		}
		printEvents(env.Out, tl.Events)
		printFindings(env.Out, tl.Findings)
		return nil
	}
}

func oplogFindings(fs *flag.FlagSet) runFunc {
	device := fs.String("device", "", "only this device")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		var all []api.OplogFinding
		cursor := ""
		for {
			l, err := env.Oplog.Findings(ctx, *device, cursor)
			if err != nil {
				return err
			}
			all = append(all, l.Findings...)
			if cursor = l.Next; cursor == "" {
				break
			}
		}
		if *asJSON {
			return printJSON(env.Out, api.OplogFindingList{Findings: all})
		}
		printFindings(env.Out, all)
		return nil
	}
}

func oplogHold(fs *flag.FlagSet) runFunc {
	kind := fs.String("kind", "user", "user or device")
	reason := fs.String("reason", "", "why (case number); audited")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one staff ID or device ID"); err != nil {
			return err
		}
		h, err := env.Oplog.PlaceHold(ctx, env.Actor, api.OplogHold{Kind: *kind, Subject: args[0], Reason: *reason})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "hold placed on %s %s\n", h.Kind, h.Subject)
		return nil
	}
}

func oplogUnhold(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 2, "KIND (user or device) and SUBJECT"); err != nil {
			return err
		}
		if err := env.Oplog.ReleaseHold(ctx, env.Actor, args[0], args[1]); err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "hold on %s %s released\n", args[0], args[1])
		return nil
	}
}

func oplogHolds(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		l, err := env.Oplog.Holds(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tSUBJECT\tSINCE\tBY\tREASON")
		for _, h := range l.Holds {
			printRow(tw, "%s\t%s\t%s\t%s\t%s\n", h.Kind, h.Subject, h.CreatedAt.Format(time.DateOnly), h.CreatedBy, h.Reason)
		}
		return tw.Flush()
	}
}

func oplogRetention(fs *flag.FlagSet) runFunc {
	days := fs.Int("days", 0, "new retention in days (e.g. 1825 for five years)")
	reason := fs.String("reason", "", "why; audited")
	return func(ctx context.Context, env *Env, args []string) error {
		var cfg api.OplogConfig
		var err error
		if *days > 0 {
			cfg, err = env.Oplog.SetConfig(ctx, env.Actor, api.OplogConfigUpdate{RetentionDays: days, Reason: *reason})
		} else {
			cfg, err = env.Oplog.Config(ctx)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "retention: %d days\n", cfg.RetentionDays)
		return nil
	}
}

func cliTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, time.FixedZone("JST", 9*3600)); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s: use 2026-04-01 or 2026-04-01T09:00:00+09:00", name)
}

func printEvents(w io.Writer, evs []api.OplogRecord) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT (UTC)\tUSER\tDEVICE\tSEQ\tTYPE\tFIELDS")
	for _, e := range evs {
		var fs []string
		for k, v := range e.Fields {
			fs = append(fs, k+"="+v)
		}
		printRow(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.At.Format("2006-01-02 15:04:05"), e.UserID, e.DeviceID, e.Seq, e.Type,
			strings.Join(sortStrings(fs), " "))
	}
	tw.Flush()
}

func printFindings(w io.Writer, fs []api.OplogFinding) {
	if len(fs) == 0 {
		fmt.Fprintln(w, "no findings: every chain is intact")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FOUND (UTC)\tDEVICE\tUSER\tSEQ\tKIND\tDETAIL")
	for _, f := range fs {
		printRow(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", f.At.Format("2006-01-02 15:04:05"), f.DeviceID, f.UserID, f.Seq, f.Kind, f.Detail)
	}
	tw.Flush()
}

func auditEvent(actor, action, target string, fields map[string]string) audit.Event {
	return audit.Event{Actor: actor, Action: action, Target: target, Fields: fields}
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}
