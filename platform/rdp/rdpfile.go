package rdp

import (
	"fmt"
	"os"
)

// withRDPFile writes content to a private temporary .rdp file, runs fn
// with its path and deletes the file afterwards, whatever fn returns: the
// file names the office PC and the user, and must not stay on the laptop.
func withRDPFile(content []byte, fn func(path string) error) error {
	f, err := os.CreateTemp("", "zaitaku-*.rdp")
	if err != nil {
		return fmt.Errorf("rdp file: %w", err)
	}
	path := f.Name()
	defer os.Remove(path)
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("rdp file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("rdp file: %w", err)
	}
	return fn(path)
}

// exitCode extracts a process's exit code from the error of Wait/Run.
func exitCode(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	if ee, ok := err.(interface{ ExitCode() int }); ok && ee.ExitCode() >= 0 {
		return ee.ExitCode(), nil
	}
	return -1, err
}
