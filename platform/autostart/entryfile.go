//go:build linux || darwin

package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// On Linux and macOS, start-at-login is one file the OS reads at sign-in
// (a .desktop entry, a LaunchAgent plist): enabling writes it, disabling
// removes it. Each OS file gives entryPath and entryContent.

func enable(e Entry) error {
	p, err := entryPath(e)
	if err != nil {
		return err
	}
	return writeEntry(p, entryContent(e))
}

func disable(e Entry) error {
	p, err := entryPath(e)
	if err != nil {
		return err
	}
	return removeEntry(p)
}

func writeEntry(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("autostart enable: %w", err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		return fmt.Errorf("autostart enable: %w", err)
	}
	return nil
}

func removeEntry(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("autostart disable: %w", err)
	}
	return nil
}
