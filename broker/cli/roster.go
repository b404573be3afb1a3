package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

func rosterImport(fs *flag.FlagSet) runFunc {
	dry := fs.Bool("dry-run", false, "only say what would change, line by line; change nothing")
	effective := fs.String("effective", "", "the day it takes effect, YYYY-MM-DD in Japan (default today: at once); a later day waits for it")
	encoding := fs.String("encoding", "auto", "auto, utf-8 or shift_jis (Excel's CSV in Japan)")
	disable := fs.Bool("disable-missing", false, "disable the accounts the roster no longer lists (they are never deleted)")
	all := fs.Bool("all", false, "list unchanged lines too")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one roster file (CSV)"); err != nil {
			return err
		}
		data, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		req := api.RosterImportRequest{CSV: data, FileName: filepath.Base(args[0]), Encoding: *encoding,
			Effective: *effective, DisableMissing: *disable}
		// The dry run comes first either way: a roster with problems is
		// refused whole, and IT then sees every problem, not the first.
		rep, err := env.Roster.DryRun(ctx, env.Actor, req)
		if err != nil {
			return err
		}
		if *dry || len(rep.Problems) > 0 {
			if *asJSON {
				if err := printJSON(env.Out, rep); err != nil {
					return err
				}
			} else {
				printReport(env, &rep, *all)
			}
			if len(rep.Problems) > 0 {
				return fmt.Errorf("%d problem(s) in %s; nothing was changed", len(rep.Problems), args[0])
			}
			fmt.Fprintln(env.Out, "dry run: nothing was changed")
			return nil
		}
		imp, err := env.Roster.Import(ctx, env.Actor, req)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, imp)
		}
		if imp.Report != nil {
			printReport(env, imp.Report, *all)
		}
		switch imp.Status {
		case api.RosterPending:
			fmt.Fprintf(env.Out, "import %s is pending: it takes effect on %s (JST); cancel with: broker admin roster cancel %s\n",
				imp.ID, imp.Effective, imp.ID)
		default:
			fmt.Fprintf(env.Out, "import %s %s\n", imp.ID, imp.Status)
		}
		return nil
	}
}

// printReport prints the counts, the problems and the lines that change.
func printReport(env *Env, rep *api.RosterReport, all bool) {
	c := rep.Counts
	printRow(env.Out, "encoding %s, effective %s: %d added, %d moved, %d changed, %d unchanged, %d disabled\n",
		rep.Encoding, rep.Effective, c.Added, c.Moved, c.Changed, c.Unchanged, c.Disabled)
	if len(rep.IgnoredColumns) > 0 {
		printRow(env.Out, "columns not used: %s\n", strings.Join(rep.IgnoredColumns, ", "))
	}
	for _, p := range rep.Problems {
		printRow(env.Out, "problem: %s\n", p.String())
	}
	tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
	header := false
	for _, l := range rep.Lines {
		if l.Kind == api.RosterUnchanged && !all {
			continue
		}
		if !header {
			fmt.Fprintln(tw, "LINE\tKIND\tSTAFF ID\tNAME\tCHANGES")
			header = true
		}
		line := "-"
		if l.Line > 0 {
			line = fmt.Sprint(l.Line)
		}
		changes := strings.Join(l.Changes, "; ")
		if l.Note != "" {
			changes = strings.TrimPrefix(changes+" ("+l.Note+")", " ")
		}
		printRow(tw, "%s\t%s\t%s\t%s\t%s\n", line, l.Kind, l.StaffID, l.Name, changes)
	}
	tw.Flush()
}

// jst: IT reads times as they are in Japan.
var jst = time.FixedZone("JST", 9*3600)

func rosterList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		l, err := env.Roster.Imports(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, l.Imports)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tEFFECTIVE\tFILE\tBY\tLOADED")
		for _, i := range l.Imports {
			printRow(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.Status, i.Effective, i.FileName, i.Actor,
				i.CreatedAt.In(jst).Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
}

func rosterCancel(ctx context.Context, env *Env, id string) error {
	_, err := env.Roster.Cancel(ctx, env.Actor, id)
	if e := api.AsError(err); e != nil && e.Code == api.CodeNotFound {
		return errors.New("no roster import " + id + " (broker admin roster list shows them)")
	}
	return err
}
