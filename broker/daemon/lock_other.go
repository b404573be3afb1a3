//go:build !unix && !windows

package daemon

import "os"

// lockFile has no lock to take on this system; the file still names the
// broker for people.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
