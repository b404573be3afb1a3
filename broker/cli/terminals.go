package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/api"
)

func terminalsCreate(fs *flag.FlagSet) runFunc {
	var req api.CreateTerminalRequest
	fs.StringVar(&req.Name, "name", "", "name people see, e.g. 総務課-01")
	fs.StringVar(&req.Address, "address", "", "host name or IP the broker dials")
	fs.IntVar(&req.RDPPort, "port", 3389, "RDP port")
	fs.StringVar(&req.MAC, "mac", "", "MAC address for Wake-on-LAN")
	fs.StringVar(&req.WakeAddr, "wake-addr", "", "broadcast address for Wake-on-LAN (default 255.255.255.255)")
	fs.IntVar(&req.WakePort, "wake-port", 9, "UDP port for Wake-on-LAN")
	fs.StringVar(&req.Department, "department", "", "department, e.g. 総務課")
	fs.StringVar(&req.UserID, "user", "", "staff ID to pair with")
	fs.BoolVar(&req.Pool, "pool", false, "shared PC for staff without their own")
	fs.StringVar(&req.Segment, "segment", "", "network segment: lgwan (default), mynumber or internet")
	return func(ctx context.Context, env *Env, args []string) error {
		if len(args) > 1 {
			return fmt.Errorf("want at most one ID")
		}
		if len(args) == 1 {
			req.ID = args[0]
		}
		t, err := env.Terminals.Create(ctx, env.Actor, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "created %s (%s, %s:%d)\n", t.ID, t.Name, t.Address, t.RDPPort)
		return nil
	}
}

func terminalsList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		ts, err := env.Terminals.List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, ts)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tADDRESS\tMAC\tDEPARTMENT\tUSER\tSEGMENT\tSTATE")
		for _, t := range ts {
			user := t.UserID
			if t.Pool {
				user = "(pool)"
			}
			printRow(tw, "%s\t%s\t%s:%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Address, t.RDPPort, t.MAC, t.Department, user, t.Segment, t.State)
		}
		return tw.Flush()
	}
}

func terminalsPair(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 2, "the PC's ID and a staff ID"); err != nil {
			return err
		}
		t, err := env.Terminals.Pair(ctx, env.Actor, args[0], args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "paired %s with %s\n", t.ID, t.UserID)
		return nil
	}
}

func terminalsUnpair(ctx context.Context, env *Env, id string) error {
	_, err := env.Terminals.Pair(ctx, env.Actor, id, "")
	return err
}

func terminalsDelete(ctx context.Context, env *Env, id string) error {
	return env.Terminals.Delete(ctx, env.Actor, id)
}
