//go:build !unix && !windows

package oplog

import "os"

// lockDir does not lock where the app does not run (js, wasip1, plan9):
// the journal still works for tests of its format there.
func lockDir(string) (*os.File, error) { return nil, nil }
