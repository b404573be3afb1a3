package rdp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func launch(ctx context.Context, s Spec, o Options) (int, error) {
	bin, err := exec.LookPath("xfreerdp")
	if err != nil {
		return -1, fmt.Errorf("%w: xfreerdp (Debian/Ubuntu package freerdp2-x11): %v", ErrClientMissing, err)
	}
	cmd := exec.CommandContext(ctx, bin, append(XFreeRDPArgs(s), o.Extra...)...)
	cmd.Stdout, cmd.Stderr = o.Output, o.Output
	cmd.Env = append(os.Environ(), o.Env...)
	// Ask politely first, so xfreerdp disconnects cleanly from the PC.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	code, err := exitCode(cmd.Run())
	if ctx.Err() != nil {
		return code, fmt.Errorf("xfreerdp: %w", ctx.Err())
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return code, fmt.Errorf("xfreerdp: %w", err)
	}
	return code, nil
}

// exitOf: the Linux client is xfreerdp.
func exitOf(code int) Exit { return XFreeRDPExit(code) }
