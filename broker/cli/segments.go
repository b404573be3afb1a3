package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Network segments (三層分離): a PC's segment, and the satellite offices
// My Number PCs may be used from; over the REST API when IT is logged in,
// else on the data directory.

// segmentAdmin is the segments and satellite offices (terminal.Service
// locally).
type segmentAdmin interface {
	SetSegment(ctx context.Context, actor, id string, req api.SetSegmentRequest) (api.Terminal, error)
	SatelliteOffices(ctx context.Context) ([]api.SatelliteOffice, error)
	PutSatelliteOffice(ctx context.Context, actor, id string, req api.PutSatelliteOfficeRequest) (api.SatelliteOffice, error)
	DeleteSatelliteOffice(ctx context.Context, actor, id string) error
}

// remoteSegments is segmentAdmin over the REST API (the broker takes the
// actor from the token).
type remoteSegments struct{ c *api.Client }

func (r remoteSegments) SetSegment(ctx context.Context, _, id string, req api.SetSegmentRequest) (api.Terminal, error) {
	t, err := r.c.SetSegment(ctx, id, req)
	if err != nil {
		return api.Terminal{}, err
	}
	return *t, nil
}

func (r remoteSegments) SatelliteOffices(ctx context.Context) ([]api.SatelliteOffice, error) {
	return r.c.SatelliteOffices(ctx)
}

func (r remoteSegments) PutSatelliteOffice(ctx context.Context, _, id string, req api.PutSatelliteOfficeRequest) (api.SatelliteOffice, error) {
	o, err := r.c.PutSatelliteOffice(ctx, id, req)
	if err != nil {
		return api.SatelliteOffice{}, err
	}
	return *o, nil
}

func (r remoteSegments) DeleteSatelliteOffice(ctx context.Context, _, id string) error {
	return r.c.DeleteSatelliteOffice(ctx, id)
}

func terminalsSegment(fs *flag.FlagSet) runFunc {
	reason := fs.String("reason", "", "why the PC changes segment (recorded)")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 2, "the PC's ID and a segment (lgwan, mynumber or internet)"); err != nil {
			return err
		}
		t, err := env.Segments.SetSegment(ctx, env.Actor, args[0], api.SetSegmentRequest{Segment: args[1], Reason: *reason})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "%s is in the %s segment\n", t.ID, t.Segment)
		return nil
	}
}

func satelliteList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		l, err := env.Segments.SatelliteOffices(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, l)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tRANGES")
		for _, o := range l {
			printRow(tw, "%s\t%s\t%s\n", o.ID, o.Name, strings.Join(o.Ranges, ","))
		}
		return tw.Flush()
	}
}

func satelliteSet(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "name people see, e.g. 北サテライトオフィス")
	return func(ctx context.Context, env *Env, args []string) error {
		if len(args) < 2 {
			return fmt.Errorf("want the office's ID and at least one address range, e.g. kita 192.0.2.0/28")
		}
		o, err := env.Segments.PutSatelliteOffice(ctx, env.Actor, args[0], api.PutSatelliteOfficeRequest{Name: *name, Ranges: args[1:]})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "satellite office %s (%s): %s\n", o.ID, o.Name, strings.Join(o.Ranges, ", "))
		return nil
	}
}

func satelliteDelete(ctx context.Context, env *Env, id string) error {
	return env.Segments.DeleteSatelliteOffice(ctx, env.Actor, id)
}
