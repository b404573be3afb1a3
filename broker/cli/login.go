package cli

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/term"

	"github.com/zaitaku/zaitaku/broker/api"
)

// adminLogin signs in to a running broker as an IT administrator (or an
// auditor, or a department's IT contact) and keeps the session for the
// commands that follow.
func adminLogin(fs *flag.FlagSet) runFunc {
	broker := fs.String("broker", "", "the broker's address, e.g. https://zaitaku.example.lg.jp:8443 (env ZAITAKU_BROKER)")
	pin := fs.String("pin", "", "the broker's key pin, sha256/... as it prints at start (env ZAITAKU_PIN; default: read from -data on the broker's machine)")
	otp := fs.String("otp", "", "the one-time code (default: asked)")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "your staff ID, e.g. broker admin login --broker https://host:8443 it-suzuki"); err != nil {
			return err
		}
		addr := firstOf(*broker, env.getenv("ZAITAKU_BROKER"))
		if addr == "" {
			return errors.New("which broker? give --broker https://host:8443 (or set ZAITAKU_BROKER)")
		}
		pins, err := loginPins(firstOf(*pin, env.getenv("ZAITAKU_PIN")), env.DataDir)
		if err != nil {
			return err
		}
		c, err := api.NewClient(addr, api.ClientOptions{Pins: pins})
		if err != nil {
			return err
		}
		in := bufio.NewReader(env.in())
		password, err := ask(env, in, "Password: ", true)
		if err != nil {
			return err
		}
		code := *otp
		if code == "" {
			if code, err = ask(env, in, "One-time code: ", false); err != nil {
				return err
			}
		}
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		host, _ := os.Hostname()
		resp, err := c.Login(ctx, api.LoginRequest{StaffID: args[0], Password: password, OTP: code,
			Device: api.DeviceInfo{Name: "broker admin CLI on " + firstOf(host, "this machine"), OS: runtime.GOOS, PublicKey: key.Public().(ed25519.PublicKey)}})
		if err != nil {
			return err
		}
		switch resp.Stage {
		case api.StageOK:
		case api.StageChangePassword:
			return errors.New("the password is temporary: change it first by signing in to the Zaitaku app or the admin console, then log in here")
		case api.StageEnrollTOTP:
			return errors.New("no one-time code is set up for this account yet: set it up by signing in to the Zaitaku app or the admin console first")
		default:
			return fmt.Errorf("sign-in stopped at step %q", resp.Stage)
		}
		if !resp.User.HasRole(api.RoleAdmin) && !resp.User.HasRole(api.RoleAuditor) && !resp.User.HasRole(api.RoleDeptAdmin) {
			c.SetToken(resp.AccessToken)
			_ = c.Logout(ctx)
			return fmt.Errorf("%s is not an IT administrator, auditor or department IT contact: the admin commands are not for this account", resp.User.ID)
		}
		path := env.SessionFile
		if path == "" {
			return errors.New("no place for the admin session: set ZAITAKU_ADMIN_SESSION to a file path")
		}
		s := &adminSession{Broker: c.BaseURL(), Pins: pins, StaffID: resp.User.ID, DeviceID: resp.Device.ID, DeviceKey: key.Seed(), path: path}
		s.remember(resp)
		if err := s.save(); err != nil {
			return fmt.Errorf("keep the admin session in %s: %w", path, err)
		}
		printRow(env.Out, "signed in to %s as %s (%s), roles %s; session kept in %s (readable by you only)\n",
			s.Broker, resp.User.ID, resp.User.Name, rolesText(resp.User.Roles), path)
		if resp.Device.Status == api.DevicePending {
			printRow(env.Out, "this machine waits for approval as device %s: another admin approves it with broker admin devices approve %s\n", resp.Device.ID, resp.Device.ID)
		}
		return nil
	}
}

// adminLogout ends the admin session at the broker and forgets it here.
func adminLogout(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if env.SessionFile == "" {
			fmt.Fprintln(env.Out, "not logged in")
			return nil
		}
		s, err := loadSession(env.SessionFile)
		if s == nil && err == nil {
			fmt.Fprintln(env.Out, "not logged in")
			return nil
		}
		var ended error
		if err == nil {
			var c *api.Client
			if c, ended = s.client(ctx); ended == nil {
				ended = c.Logout(ctx)
			}
		}
		// Forget it here even if the broker cannot be reached: the tokens
		// expire there, and IT can end the session from another session.
		if err := os.Remove(env.SessionFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if ended != nil {
			fmt.Fprintf(env.Err, "logged out here; the broker was not told (%v): its tokens expire by themselves\n", api.Printable(ended.Error()))
			return nil
		}
		fmt.Fprintln(env.Out, "logged out")
		return nil
	}
}

// adminWhoami says where the commands go.
func adminWhoami(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		var s *adminSession
		var err error
		if env.SessionFile != "" {
			if s, err = loadSession(env.SessionFile); err != nil {
				return err
			}
		}
		if s == nil {
			printRow(env.Out, "not logged in: commands run on the data directory %s (broker admin login to use a running broker)\n", env.DataDir)
			return nil
		}
		c, err := s.client(ctx)
		if err != nil {
			return err
		}
		me, err := c.Me(ctx)
		if err != nil {
			return err
		}
		printRow(env.Out, "%s (%s), roles %s, at %s; --local runs a command on the data directory instead\n",
			me.User.ID, me.User.Name, rolesText(me.User.Roles), s.Broker)
		return nil
	}
}

// loginPins is the key pin to trust: given, or read from the certificate
// in the data directory when logging in on the broker's own machine.
func loginPins(pin, dataDir string) ([]string, error) {
	if pin != "" {
		if _, err := api.ParsePin(pin); err != nil {
			return nil, err
		}
		return []string{pin}, nil
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dataDir, "tls-cert.pem"), filepath.Join(dataDir, "tls-key.pem"))
	if err != nil {
		return nil, errors.New("no key pin: give --pin sha256/... as the broker printed it at start (or run this on the broker's machine with -data DIR)")
	}
	p, err := api.CertKeyPin(cert.Certificate[0])
	if err != nil {
		return nil, err
	}
	return []string{p}, nil
}

// ask prompts on standard error and reads one line; a secret is read
// without echo from a terminal.
func ask(env *Env, in *bufio.Reader, prompt string, secret bool) (string, error) {
	fmt.Fprint(env.Err, prompt)
	if f, ok := env.in().(*os.File); ok && secret && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Err)
		return string(b), err
	}
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading %s: %w", strings.TrimSuffix(strings.ToLower(prompt), ": "), err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
