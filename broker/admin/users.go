package admin

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/api"
)

func init() {
	var (
		isAdmin, isSupervisor, asJSON             bool
		name, dept, email, policyArgs, userFilter string
	)
	register(
		command{noun: "users", verb: "create", usage: "[--admin] [--supervisor] --name NAME [--department D] ID",
			help: "create a member of staff; prints a temporary password (changed at first login)",
			flags: func(fs *flag.FlagSet) {
				fs.BoolVar(&isAdmin, "admin", false, "IT administrator (may use the admin endpoints)")
				fs.BoolVar(&isSupervisor, "supervisor", false, "supervisor (所属長)")
				fs.StringVar(&name, "name", "", "display name, e.g. 山田 花子")
				fs.StringVar(&dept, "department", "", "department, e.g. 総務課")
				fs.StringVar(&email, "email", "", "e-mail address")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "one staff ID"); err != nil {
					return err
				}
				roles := []api.Role{api.RoleStaff}
				if isAdmin {
					roles = append(roles, api.RoleAdmin)
				}
				if isSupervisor {
					roles = append(roles, api.RoleSupervisor)
				}
				if name == "" {
					name = args[0]
				}
				out, err := env.Broker.Server.Auth().CreateUser(ctx, env.Actor, api.CreateUserRequest{
					ID: args[0], Name: name, Department: dept, Email: email, Roles: roles})
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Out, "created %s (%s) roles=%s\ntemporary password: %s\n", out.User.ID, out.User.Name,
					rolesText(out.User.Roles), out.TemporaryPassword)
				fmt.Fprintln(env.Out, "They must change it and set up a one-time code at first sign-in.")
				return nil
			}},
		command{noun: "users", verb: "list", usage: "[--department D] [--json]", help: "list staff",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&dept, "department", "", "only this department")
				fs.BoolVar(&asJSON, "json", false, "print JSON")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				us, err := env.Broker.Server.Auth().ListUsers(ctx, dept)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env.Out, us)
				}
				tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tDEPARTMENT\tROLES\tOTP\tSTATE")
				for _, u := range us {
					state := "active"
					if u.Disabled {
						state = "disabled"
					} else if u.MustChangePassword {
						state = "must-change-password"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", u.ID, u.Name, u.Department, rolesText(u.Roles), u.TOTPEnrolled, state)
				}
				return tw.Flush()
			}},
		command{noun: "users", verb: "reset-password", usage: "ID", help: "temporary password; forced change at next sign-in",
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "one staff ID"); err != nil {
					return err
				}
				out, err := env.Broker.Server.Auth().ResetPassword(ctx, env.Actor, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Out, "temporary password for %s: %s\n", args[0], out.TemporaryPassword)
				return nil
			}},
		simple("users", "reset-totp", "remove the one-time code authenticator (lost phone)", func(ctx context.Context, env *Env, id string) error {
			return env.Broker.Server.Auth().ResetTOTP(ctx, env.Actor, id)
		}),
		simple("users", "unlock", "clear a lockout after failed sign-ins", func(ctx context.Context, env *Env, id string) error {
			return env.Broker.Server.Auth().Unlock(ctx, env.Actor, id)
		}),
		simple("users", "disable", "disable an account and end its sessions", func(ctx context.Context, env *Env, id string) error {
			t := true
			_, err := env.Broker.Server.Auth().UpdateUser(ctx, env.Actor, id, api.UpdateUserRequest{Disabled: &t})
			return err
		}),
		simple("users", "enable", "enable a disabled account", func(ctx context.Context, env *Env, id string) error {
			f := false
			_, err := env.Broker.Server.Auth().UpdateUser(ctx, env.Actor, id, api.UpdateUserRequest{Disabled: &f})
			return err
		}),
		command{noun: "users", verb: "otp-code", usage: "ID", help: "current one-time code of a DEMO account (refused for real ones)",
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "one staff ID"); err != nil {
					return err
				}
				code, err := env.Broker.Server.Auth().DemoOTPCode(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(env.Out, code)
				return nil
			}},
		command{noun: "devices", verb: "list", usage: "[--user ID] [--json]", help: "enrolled laptops",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&userFilter, "user", "", "only this staff ID")
				fs.BoolVar(&asJSON, "json", false, "print JSON")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				ds, err := env.Broker.Server.Auth().ListDevices(ctx, userFilter)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env.Out, ds)
				}
				tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tNAME\tOS\tSTATUS\tLAST SEEN")
				for _, d := range ds {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.UserID, d.Name, d.OS, d.Status, d.LastSeenAt.Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			}},
		simple("devices", "revoke", "block a lost laptop; its tokens stop working at once", func(ctx context.Context, env *Env, id string) error {
			_, err := env.Broker.Server.Auth().RevokeDevice(ctx, env.Actor, id)
			return err
		}),
		simple("devices", "approve", "approve a laptop waiting for approval", func(ctx context.Context, env *Env, id string) error {
			_, err := env.Broker.Server.Auth().ApproveDevice(ctx, env.Actor, id)
			return err
		}),
		command{noun: "policy", verb: "show", help: "the security policy in force",
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				return printJSON(env.Out, env.Broker.Server.Auth().Policy(ctx))
			}},
		command{noun: "policy", verb: "set", usage: `--change '{"require_totp":false,"reason":"..."}'`,
			help: "change the policy; relaxing the LGWAN profile needs a reason",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&policyArgs, "change", "", "the change, as JSON (fields of PATCH /admin/v1/policy)")
			},
			run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
				var up api.PolicyUpdate
				if err := decodeStrict(policyArgs, &up); err != nil {
					return err
				}
				p, err := env.Broker.Server.Auth().SetPolicy(ctx, env.Actor, up)
				if err != nil {
					return err
				}
				return printJSON(env.Out, p)
			}},
	)
}

func simple(noun, verb, help string, fn func(ctx context.Context, env *Env, id string) error) command {
	return command{noun: noun, verb: verb, usage: "ID", help: help,
		run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) error {
			if err := needArgs(args, 1, "one ID"); err != nil {
				return err
			}
			if err := fn(ctx, env, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "%s %s: done\n", verb, args[0])
			return nil
		}}
}

func rolesText(rs []api.Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ",")
}
