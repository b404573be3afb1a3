// Package browser opens a web page in the user's default browser: the
// meeting page, with its one-time link. The command per OS is a pure
// function (Command) so that each OS's is checked against a golden file
// on any machine.
package browser

import (
	"context"
	"errors"
	"net/url"
	"os/exec"
	"runtime"
)

// ErrNotWeb refuses anything but an http or https URL: the app opens the
// broker's pages, never a file or another program's scheme.
var ErrNotWeb = errors.New("browser: only http and https links are opened")

// Command is what opens link on goos. On Windows it is rundll32's URL
// handler, not "cmd /c start": cmd would read the & between the
// fragment's parameters (#join=...&lobby=...) as the end of a command.
func Command(goos, link string) (name string, args []string) {
	switch goos {
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", link}
	case "darwin":
		return "open", []string{link}
	default:
		return "xdg-open", []string{link}
	}
}

// Check says whether link may be opened.
func Check(link string) error {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ErrNotWeb
	}
	return nil
}

// Opener opens links with this OS's command (core.Browser).
type Opener struct{}

// OpenURL starts the default browser on link and returns once the OS
// took it (the browser lives on by itself).
func (Opener) OpenURL(ctx context.Context, link string) error {
	if err := Check(link); err != nil {
		return err
	}
	name, args := Command(runtime.GOOS, link)
	cmd := exec.CommandContext(ctx, name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	// Reap it; xdg-open and open return at once, rundll32 soon after.
	go func() { _ = cmd.Wait() }()
	return nil
}
