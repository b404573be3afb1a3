package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/csvexport"
)

func chatChannels(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		l, err := env.Chat.AdminChannels(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, l.Channels)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tNAME\tENTRIES\tMEMBERS")
		for _, c := range l.Channels {
			members := strings.Join(c.Members, ",")
			if c.Kind == "department" {
				members = fmt.Sprintf("%d (the department's staff)", len(c.Members))
			}
			printRow(tw, "%s\t%s\t%s\t%d\t%s\n", c.ID, c.Kind, c.Name, c.LastSeq, members)
		}
		return tw.Flush()
	}
}

func chatExport(fs *flag.FlagSet) runFunc {
	reason := fs.String("reason", "", "the inquiry this export is for (recorded)")
	outFile := fs.String("out", "", "write to this file (default: standard output)")
	lang := fs.String("lang", "ja", "CSV headers: ja or en")
	tz := fs.String("tz", "JST", "CSV times: JST or UTC")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one channel ID (broker admin chat channels)"); err != nil {
			return err
		}
		o, err := csvexport.Parse(*lang, *tz)
		if err != nil {
			return err
		}
		_, err = exportTo(env, *outFile, "rows", func(w io.Writer) (int, error) {
			return env.Chat.Export(ctx, env.Actor, args[0], *reason, o, w)
		})
		return err
	}
}
