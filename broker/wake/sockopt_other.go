//go:build !unix && !windows

package wake

func setsockoptBroadcast(fd uintptr) error { return nil }
