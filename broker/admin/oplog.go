package admin

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

func init() {
	var (
		user, device, dept, typ, from, to, format, outFile, kind, reason string
		limit, days                                                      int
		asJSON                                                           bool
	)
	filters := func(fs *flag.FlagSet) {
		fs.StringVar(&user, "user", "", "staff ID")
		fs.StringVar(&device, "device", "", "device ID")
		fs.StringVar(&dept, "department", "", "department, e.g. 総務課")
		fs.StringVar(&typ, "type", "", "event type, e.g. login.failed")
		fs.StringVar(&from, "from", "", "start: 2026-04-01 (JST) or RFC 3339")
		fs.StringVar(&to, "to", "", "end (exclusive): 2026-04-02 (JST) or RFC 3339")
	}
	// query turns the filter flags into a store query.
	query := func() (oplog.Query, error) {
		q := api.OplogQuery{User: user, Device: device, Department: dept, Type: typ, Limit: limit}
		var err error
		if q.From, err = cliTime("from", from); err != nil {
			return oplog.Query{}, err
		}
		if q.To, err = cliTime("to", to); err != nil {
			return oplog.Query{}, err
		}
		return oplog.QueryFromAPI(q)
	}
	register(
		command{noun: "oplog", verb: "search", usage: "[--user U] [--device D] [--department X] [--type T] [--from F] [--to T] [--limit N] [--json]",
			help: "search operation logs, newest first",
			flags: func(fs *flag.FlagSet) {
				filters(fs)
				fs.IntVar(&limit, "limit", 100, "at most this many events")
				fs.BoolVar(&asJSON, "json", false, "print JSON")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				oq, err := query()
				if err != nil {
					return err
				}
				page, err := env.Broker.Server.Oplog().Search(ctx, oq)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env.Out, page)
				}
				printEvents(env.Out, page.Events)
				if page.Next != "" {
					fmt.Fprintf(env.Out, "(more: narrow the search or use --limit, or export)\n")
				}
				return nil
			}},
		command{noun: "oplog", verb: "export", usage: "[--format csv|jsonl] [--out FILE] [filters as for search]",
			help: "export matching operation logs, oldest first (CSV is UTF-8 with BOM for Excel)",
			flags: func(fs *flag.FlagSet) {
				filters(fs)
				fs.StringVar(&format, "format", "csv", "csv or jsonl")
				fs.StringVar(&outFile, "out", "", "write to this file (default: standard output)")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				oq, err := query()
				if err != nil {
					return err
				}
				var w io.Writer = env.Out
				var f *os.File
				if outFile != "" {
					if f, err = os.OpenFile(outFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
						return fmt.Errorf("export file: %w (choose a new name)", err)
					}
					w = bufio.NewWriter(f)
				}
				n, err := env.Broker.Server.Oplog().Export(ctx, oq, format, w)
				if f != nil {
					err = errors.Join(err, w.(*bufio.Writer).Flush(), f.Sync(), f.Close())
					if err == nil {
						fmt.Fprintf(env.Err, "exported %d events to %s\n", n, outFile)
					}
				}
				if err != nil {
					return err
				}
				return env.Broker.Server.Audit().Record(ctx, auditEvent(env.Actor, "oplog.exported", "",
					map[string]string{"format": format, "events": fmt.Sprint(n), "via": "cli"}))
			}},
		command{noun: "oplog", verb: "timeline", usage: "[--from F] [--to T] [--limit N] [--json] DEVICE",
			help: "one laptop's events in order, with findings (lost-laptop case)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&from, "from", "", "start: 2026-04-01 (JST) or RFC 3339")
				fs.StringVar(&to, "to", "", "end (exclusive)")
				fs.IntVar(&limit, "limit", 1000, "at most this many events")
				fs.BoolVar(&asJSON, "json", false, "print JSON")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "one device ID (broker admin devices list)"); err != nil {
					return err
				}
				oq, err := query()
				if err != nil {
					return err
				}
				tl, err := env.Broker.Server.Oplog().Timeline(ctx, args[0], oq)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env.Out, tl)
				}
				printEvents(env.Out, tl.Events)
				printFindings(env.Out, tl.Findings)
				return nil
			}},
		command{noun: "oplog", verb: "findings", usage: "[--device D] [--json]",
			help: "gaps, broken chains and conflicts found in uploaded logs",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&device, "device", "", "only this device")
				fs.BoolVar(&asJSON, "json", false, "print JSON")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				var all []api.OplogFinding
				cursor := ""
				for {
					l, err := env.Broker.Server.Oplog().Findings(ctx, device, cursor)
					if err != nil {
						return err
					}
					all = append(all, l.Findings...)
					if cursor = l.Next; cursor == "" {
						break
					}
				}
				if asJSON {
					return printJSON(env.Out, api.OplogFindingList{Findings: all})
				}
				printFindings(env.Out, all)
				return nil
			}},
		command{noun: "oplog", verb: "hold", usage: "--kind user|device --reason TEXT SUBJECT",
			help: "legal hold: never purge this user's or device's logs",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&kind, "kind", "user", "user or device")
				fs.StringVar(&reason, "reason", "", "why (case number); audited")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "one staff ID or device ID"); err != nil {
					return err
				}
				h, err := env.Broker.Server.Oplog().PlaceHold(ctx, env.Actor, api.OplogHold{Kind: kind, Subject: args[0], Reason: reason})
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Out, "hold placed on %s %s\n", h.Kind, h.Subject)
				return nil
			}},
		command{noun: "oplog", verb: "unhold", usage: "KIND SUBJECT", help: "release a legal hold",
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "KIND (user or device) and SUBJECT"); err != nil {
					return err
				}
				if err := env.Broker.Server.Oplog().ReleaseHold(ctx, env.Actor, args[0], args[1]); err != nil {
					return err
				}
				fmt.Fprintf(env.Out, "hold on %s %s released\n", args[0], args[1])
				return nil
			}},
		command{noun: "oplog", verb: "holds", usage: "", help: "list legal holds",
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				l, err := env.Broker.Server.Oplog().Holds(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KIND\tSUBJECT\tSINCE\tBY\tREASON")
				for _, h := range l.Holds {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Kind, h.Subject, h.CreatedAt.Format(time.DateOnly), h.CreatedBy, h.Reason)
				}
				return tw.Flush()
			}},
		command{noun: "oplog", verb: "retention", usage: "[--days N --reason TEXT]", help: "show or change the retention period",
			flags: func(fs *flag.FlagSet) {
				fs.IntVar(&days, "days", 0, "new retention in days (e.g. 1825 for five years)")
				fs.StringVar(&reason, "reason", "", "why; audited")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				svc := env.Broker.Server.Oplog()
				var cfg api.OplogConfig
				var err error
				if days > 0 {
					cfg, err = svc.SetConfig(ctx, env.Actor, api.OplogConfigUpdate{RetentionDays: &days, Reason: reason})
				} else {
					cfg, err = svc.Config(ctx)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Out, "retention: %d days\n", cfg.RetentionDays)
				return nil
			}},
	)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.At.Format("2006-01-02 15:04:05"), e.UserID, e.DeviceID, e.Seq, e.Type,
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", f.At.Format("2006-01-02 15:04:05"), f.DeviceID, f.UserID, f.Seq, f.Kind, f.Detail)
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
