//go:build !linux && !windows && !darwin

package rdp

import (
	"context"
	"errors"
)

func launch(context.Context, Spec, Options) (int, error) { return -1, errors.ErrUnsupported }

func exitOf(code int) Exit {
	if code == 0 {
		return ExitClosed
	}
	return ExitFailed
}
