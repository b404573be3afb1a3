package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// BCP mode goes through the running broker's REST API like the cap:
// it switches at once, announces the switch to every running app and
// reorders its queue. With --local it is written to the shared database
// and a running broker adopts and announces it on its next sweep.

func bcpStatus(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 0, "no arguments beyond the flags"); err != nil {
			return err
		}
		b, err := env.Sessions.BCP(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, b)
		}
		state := "off"
		if b.Active {
			state = "ON"
		}
		roles := make([]string, len(b.Roles))
		for i, r := range b.Roles {
			roles[i] = string(r)
		}
		printRow(env.Out, "BCP mode: %s\ncap while on: %d\npriority roles: %s\npriority departments: %s\n",
			state, b.Cap, orNone(strings.Join(roles, ", ")), orNone(strings.Join(b.Departments, ", ")))
		if b.EffectiveCap > 0 {
			printRow(env.Out, "cap in force: %d (normal cap %d)\n", b.EffectiveCap, b.NormalCap)
		}
		if !b.Since.IsZero() {
			printRow(env.Out, "last switched: %s by %s: %s\n", b.Since.Local().Format("2006-01-02 15:04"), b.UpdatedBy, b.Reason)
		}
		return nil
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func bcpSwitch(on bool) func(fs *flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		reason := fs.String("reason", "", "why (required; shown to staff and recorded), e.g. 震度6弱の地震のため")
		return func(ctx context.Context, env *Env, args []string) error {
			if err := needArgs(args, 0, "no arguments beyond the flags"); err != nil {
				return err
			}
			b, err := env.Sessions.SwitchBCP(ctx, env.Actor, on, *reason)
			if err != nil {
				return err
			}
			state := "off: the normal cap and arrival order apply"
			if b.Active {
				state = fmt.Sprintf("on: cap %d, priority staff served first", b.Cap)
			}
			_, err = fmt.Fprintf(env.Out, "BCP mode %s; every running app is told\n", state)
			return err
		}
	}
}

func bcpConfig(fs *flag.FlagSet) runFunc {
	capN := fs.Int("cap", -1, "the cap while BCP mode is on (default: unchanged)")
	roles := fs.String("roles", "-", "roles served first, comma-separated (staff, supervisor, admin, auditor, dept_admin); none clears")
	depts := fs.String("departments", "-", "departments served first, comma-separated; none clears")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 0, "no arguments beyond the flags"); err != nil {
			return err
		}
		var up api.BCPConfigUpdate
		if *capN >= 0 {
			up.Cap = capN
		}
		if *roles != "-" {
			rs := []api.Role{}
			for _, r := range splitList(*roles) {
				rs = append(rs, api.Role(r))
			}
			up.Roles = &rs
		}
		if *depts != "-" {
			ds := splitList(*depts)
			up.Departments = &ds
		}
		b, err := env.Sessions.ConfigureBCP(ctx, env.Actor, up)
		if err != nil {
			return err
		}
		return printJSON(env.Out, b)
	}
}

// splitList splits a comma-separated flag; "none" or "" is the empty list.
func splitList(v string) []string {
	out := []string{}
	if v == "" || v == "none" {
		return out
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (l localSessions) BCP(ctx context.Context) (api.BCP, error) {
	b, err := l.st.LoadBCP(ctx)
	if err != nil {
		return b, err
	}
	if p, err := l.SlotConfig(ctx); err == nil {
		b.NormalCap, b.EffectiveCap = p.Cap, p.Cap
		if b.Active && b.Cap > p.Cap {
			b.EffectiveCap = b.Cap
		}
	}
	return b, nil
}

func (l localSessions) SwitchBCP(ctx context.Context, actor string, on bool, reason string) (api.BCP, error) {
	return slots.SaveBCP(ctx, l.st, l.audit, time.Now(), actor, &on, reason, api.BCPConfigUpdate{})
}

func (l localSessions) ConfigureBCP(ctx context.Context, actor string, up api.BCPConfigUpdate) (api.BCP, error) {
	return slots.SaveBCP(ctx, l.st, l.audit, time.Now(), actor, nil, "", up)
}

func (r remoteSessions) BCP(ctx context.Context) (api.BCP, error) {
	b, err := r.c.BCP(ctx)
	if err != nil {
		return api.BCP{}, err
	}
	return *b, nil
}

func (r remoteSessions) SwitchBCP(ctx context.Context, _ string, on bool, reason string) (api.BCP, error) {
	b, err := r.c.SwitchBCP(ctx, on, reason)
	if err != nil {
		return api.BCP{}, err
	}
	return *b, nil
}

func (r remoteSessions) ConfigureBCP(ctx context.Context, _ string, up api.BCPConfigUpdate) (api.BCP, error) {
	b, err := r.c.ConfigureBCP(ctx, up)
	if err != nil {
		return api.BCP{}, err
	}
	return *b, nil
}
