//go:build !linux && !darwin && !windows

package autostart

func enable(Entry) error          { return ErrUnsupported }
func disable(Entry) error         { return ErrUnsupported }
func enabled(Entry) (bool, error) { return false, ErrUnsupported }
