// Package instance lets a second launch of the app bring the running
// one's window forward instead of starting another copy: clicking the
// desktop icon again must show the window even where no tray host can be
// clicked (some Linux desktops). Being the only instance is decided
// elsewhere (the operation log's lock); this package only carries the
// request to show.
package instance

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// socket is where a running app listens for a second launch.
func socket(dataDir string) string { return filepath.Join(dataDir, "show.sock") }

// AskToShow asks a running app to show its window; false if none answered.
func AskToShow(dataDir string) bool {
	c, err := net.DialTimeout("unix", socket(dataDir), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte("show\n")) // the connection itself is the request
	return true
}

// Listener serves AskToShow for the running app.
type Listener struct {
	ln   net.Listener
	done chan struct{}
}

// Listen answers AskToShow by calling show (from a goroutine of its own;
// a Fyne caller wraps it in fyne.Do). The caller must already be the only
// instance, so a socket file left by a crash is its own to replace.
func Listen(dataDir string, show func(), log *slog.Logger) (*Listener, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := socket(dataDir)
	_ = os.Remove(p)
	ln, err := net.Listen("unix", p)
	if err != nil {
		return nil, err
	}
	l := &Listener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			c, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				log.Warn("second-launch socket", "err", err)
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = c.Read(make([]byte, 8))
			c.Close()
			log.Info("second launch: showing the window")
			show()
		}
	}()
	return l, nil
}

// Close stops listening and removes the socket file.
func (l *Listener) Close() error {
	err := l.ln.Close()
	<-l.done
	return err
}
