package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/api"
)

func usersCreate(fs *flag.FlagSet) runFunc {
	isAdmin := fs.Bool("admin", false, "IT administrator (may use the admin endpoints)")
	isSupervisor := fs.Bool("supervisor", false, "supervisor (所属長)")
	isAuditor := fs.Bool("auditor", false, "auditor: reads sessions, operation logs and reports, changes nothing")
	isDeptAdmin := fs.Bool("dept-admin", false, "a department's IT contact: manages their own --department's staff and PCs only")
	name := fs.String("name", "", "display name, e.g. 山田 花子")
	dept := fs.String("department", "", "department, e.g. 総務課")
	email := fs.String("email", "", "e-mail address")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one staff ID"); err != nil {
			return err
		}
		roles := []api.Role{api.RoleStaff}
		if *isAdmin {
			roles = append(roles, api.RoleAdmin)
		}
		if *isSupervisor {
			roles = append(roles, api.RoleSupervisor)
		}
		if *isAuditor {
			roles = append(roles, api.RoleAuditor)
		}
		if *isDeptAdmin {
			if *dept == "" {
				return fmt.Errorf("--dept-admin needs the --department they manage")
			}
			roles = append(roles, api.RoleDeptAdmin)
		}
		if *name == "" {
			*name = args[0]
		}
		out, err := env.Auth.CreateUser(ctx, env.Actor, api.CreateUserRequest{
			ID: args[0], Name: *name, Department: *dept, Email: *email, Roles: roles})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "created %s (%s) roles=%s\ntemporary password: %s\n", out.User.ID, out.User.Name,
			rolesText(out.User.Roles), out.TemporaryPassword)
		fmt.Fprintln(env.Out, "They must change it and set up a one-time code at first sign-in.")
		return nil
	}
}

func usersList(fs *flag.FlagSet) runFunc {
	dept := fs.String("department", "", "only this department")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		us, err := env.Auth.ListUsers(ctx, *dept)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, us)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tDEPARTMENT\tROLES\tOTP\tSTATE")
		for _, u := range us {
			state := "active"
			switch {
			case u.Disabled:
				state = "disabled"
			case !u.LockedUntil.IsZero():
				state = "locked until " + u.LockedUntil.Local().Format("01-02 15:04") + " (users unlock " + u.ID + ")"
			case u.MustChangePassword:
				state = "must-change-password"
			}
			printRow(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", u.ID, u.Name, u.Department, rolesText(u.Roles), u.TOTPEnrolled, state)
		}
		return tw.Flush()
	}
}

func usersResetPassword(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one staff ID"); err != nil {
			return err
		}
		out, err := env.Auth.ResetPassword(ctx, env.Actor, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "temporary password for %s: %s\n", args[0], out.TemporaryPassword)
		return nil
	}
}

func usersResetTOTP(ctx context.Context, env *Env, id string) error {
	return env.Auth.ResetTOTP(ctx, env.Actor, id)
}

func usersUnlock(ctx context.Context, env *Env, id string) error {
	return env.Auth.Unlock(ctx, env.Actor, id)
}

func usersDisable(ctx context.Context, env *Env, id string) error {
	t := true
	_, err := env.Auth.UpdateUser(ctx, env.Actor, id, api.UpdateUserRequest{Disabled: &t})
	return err
}

func usersEnable(ctx context.Context, env *Env, id string) error {
	f := false
	_, err := env.Auth.UpdateUser(ctx, env.Actor, id, api.UpdateUserRequest{Disabled: &f})
	return err
}

func usersOTPCode(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "one staff ID"); err != nil {
			return err
		}
		code, err := env.Auth.DemoOTPCode(ctx, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Out, code)
		return nil
	}
}

func devicesList(fs *flag.FlagSet) runFunc {
	user := fs.String("user", "", "only this staff ID")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		ds, err := env.Auth.ListDevices(ctx, *user)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, ds)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tOS\tSTATUS\tLAST SEEN")
		for _, d := range ds {
			printRow(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.UserID, d.Name, d.OS, d.Status, d.LastSeenAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
}

func devicesRevoke(ctx context.Context, env *Env, id string) error {
	d, err := env.Auth.RevokeDevice(ctx, env.Actor, id)
	if err != nil {
		return err
	}
	// Over REST the broker cuts the laptop off at once; with --local its
	// tokens fail at once and its session ends when its lease lapses.
	_, err = fmt.Fprintf(env.Out, "revoked %s (%s); its timeline: broker admin oplog timeline %s\n", d.ID, d.UserID, d.ID)
	return err
}

func devicesApprove(ctx context.Context, env *Env, id string) error {
	_, err := env.Auth.ApproveDevice(ctx, env.Actor, id)
	return err
}

func policyShow(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		p, err := env.Auth.CurrentPolicy(ctx)
		if err != nil {
			return err
		}
		return printJSON(env.Out, p)
	}
}

func policySet(fs *flag.FlagSet) runFunc {
	change := fs.String("change", "", "the change, as JSON (fields of PATCH /admin/v1/policy)")
	return func(ctx context.Context, env *Env, args []string) error {
		var up api.PolicyUpdate
		if err := decodeStrict(*change, &up); err != nil {
			return err
		}
		p, err := env.Auth.SetPolicy(ctx, env.Actor, up)
		if err != nil {
			return err
		}
		return printJSON(env.Out, p)
	}
}

// byID makes the define function of a command that takes one ID and
// reports "VERB ID: done".
func byID(verb string, fn func(ctx context.Context, env *Env, id string) error) func(*flag.FlagSet) runFunc {
	return func(*flag.FlagSet) runFunc {
		return func(ctx context.Context, env *Env, args []string) error {
			if err := needArgs(args, 1, "one ID"); err != nil {
				return err
			}
			if err := fn(ctx, env, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "%s %s: done\n", verb, args[0])
			return nil
		}
	}
}

func rolesText(rs []api.Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ",")
}
