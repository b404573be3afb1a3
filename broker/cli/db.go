package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/store/dbcopy"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
)

// dbMigrate: opening the store has applied what was pending (each engine
// migrates itself on open); this lists where the schema stands.
func dbMigrate(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 0, "no arguments"); err != nil {
			return err
		}
		l, ok := env.Store.(interface {
			AppliedMigrations(context.Context) ([]string, error)
		})
		if !ok {
			return errors.New("this database engine cannot list its migrations")
		}
		ms, err := l.AppliedMigrations(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			fmt.Fprintln(env.Out, m)
		}
		fmt.Fprintf(env.Out, "%s: schema up to date (%d migrations)\n", env.Store.Path(), len(ms))
		return nil
	}
}

func dbCopy(fs *flag.FlagSet) runFunc {
	from := fs.String("from", "", "the SQLite database: sqlite:PATH")
	to := fs.String("to", "", "a new, empty PostgreSQL database: postgres://USER:PASSWORD@HOST:5432/DBNAME")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 0, "no arguments, only --from and --to"); err != nil {
			return err
		}
		path := strings.TrimPrefix(strings.TrimPrefix(*from, "sqlite:"), "file:")
		if path == "" || daemon.IsPostgres(*from) {
			return errors.New("--from: give the SQLite database, e.g. --from sqlite:/var/lib/zaitaku/zaitaku.db (the copy goes from SQLite to PostgreSQL)")
		}
		if !daemon.IsPostgres(*to) {
			return errors.New("--to: give the new PostgreSQL database, e.g. --to postgres://zaitaku@db.example.lg.jp/zaitaku")
		}
		dst, err := postgres.Open(ctx, *to, nil, postgres.Options{})
		if err != nil {
			return err
		}
		defer dst.Close()
		tw := tabwriter.NewWriter(env.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tROWS (SQLITE)\tROWS (POSTGRESQL)\tSHA-256\tMATCH")
		rep, err := dbcopy.Copy(ctx, path, dst, func(t dbcopy.Table) {
			sum, match := t.SourceSum[:16], "yes"
			if !t.Match() {
				sum, match = t.SourceSum[:16]+" / "+t.TargetSum[:16], "NO"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", t.Name, t.SourceRows, t.TargetRows, sum, match)
		})
		tw.Flush()
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "copied %d rows of %d tables into %s in %s; counts and checksums match\n",
			rep.Rows, len(rep.Tables), dst.Path(), rep.Elapsed.Round(1e6))
		fmt.Fprintf(env.Out, "next: start the brokers with -db %s (each with this data directory's secret.key)\n", dst.Path())
		return nil
	}
}
