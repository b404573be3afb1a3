package rdp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func launch(ctx context.Context, s Spec, o Options) (int, error) {
	mstsc := filepath.Join(os.Getenv("SystemRoot"), "System32", "mstsc.exe")
	if _, err := os.Stat(mstsc); err != nil {
		return -1, fmt.Errorf("%w: mstsc.exe: %v", ErrClientMissing, err)
	}
	code := -1
	err := withRDPFile(EncodeUTF16(BuildRDPFile(s)), func(path string) error {
		cmd := exec.CommandContext(ctx, mstsc, path)
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
		return code, fmt.Errorf("mstsc: %w", err)
	}
	return code, nil
}

// exitOf: the Windows client is mstsc.
func exitOf(code int) Exit { return MstscExit(code) }
