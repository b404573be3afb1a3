package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// dir is $XDG_CONFIG_HOME/autostart (XDG Autostart spec), read per call so
// tests can point it at a temporary directory.
func dir() (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("autostart dir: %w", err)
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "autostart"), nil
}

func entryPath(e Entry) (string, error) {
	d, err := dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, e.ID+".desktop"), nil
}

// desktopFile renders the entry. Exec arguments are quoted per the Desktop
// Entry spec so a path with spaces survives.
func entryContent(e Entry) string {
	args := []string{quote(e.Exec)}
	for _, a := range e.Args {
		args = append(args, quote(a))
	}
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=" + e.Name + "\n" +
		"Exec=" + strings.Join(args, " ") + "\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n"
}

func quote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\$`") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

func enabled(e Entry) (bool, error) {
	p, err := entryPath(e)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart enabled: %w", err)
	}
	// A user may switch the entry off in their desktop's settings instead.
	return !strings.Contains(string(b), "X-GNOME-Autostart-enabled=false") &&
		!strings.Contains(string(b), "Hidden=true"), nil
}
