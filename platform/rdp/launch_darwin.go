package rdp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// macClients are tried in order: Microsoft renamed its client in 2024.
var macClients = []string{"Windows App", "Microsoft Remote Desktop"}

func launch(ctx context.Context, s Spec, o Options) (int, error) {
	app := ""
	for _, name := range macClients {
		if exec.CommandContext(ctx, "open", "-Ra", name).Run() == nil {
			app = name
			break
		}
	}
	if app == "" {
		return -1, fmt.Errorf("%w: install Windows App from the App Store", ErrClientMissing)
	}
	code := -1
	err := withRDPFile(BuildRDPFile(s), func(path string) error {
		// -W waits until the app quits; -n starts a fresh instance, so the
		// wait is for this connection and not a window left open earlier.
		cmd := exec.CommandContext(ctx, "open", "-W", "-n", "-a", app, path)
		cmd.Stdout, cmd.Stderr = o.Output, o.Output
		cmd.Env = append(os.Environ(), o.Env...)
		var err error
		code, err = exitCode(cmd.Run())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	})
	if err != nil {
		return code, fmt.Errorf("%s: %w", app, err)
	}
	return code, nil
}

// exitOf: the macOS client is Windows App, through open -W.
func exitOf(code int) Exit { return WindowsAppExit(code) }
