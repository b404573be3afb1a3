package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// errLocked is returned by lockFile when another process holds the lock.
var errLocked = errors.New("locked")

// dataLock is `broker serve`'s exclusive hold on its data directory: two
// brokers on one SQLite database would each decide the cap in their own
// memory. One-shot `broker admin` commands take no lock.
type dataLock struct{ f *os.File }

const lockName = "broker.lock"

// lockData takes the lock and writes who holds it, for the message a
// second broker prints.
func lockData(dir, listen string) (*dataLock, error) {
	path := filepath.Join(dir, lockName)
	f, err := lockFile(path)
	if errors.Is(err, errLocked) {
		who := "another broker"
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			who = strings.TrimSpace(string(b))
		}
		return nil, fmt.Errorf("data directory %s is in use by %s: stop it first, or give this broker its own -data directory "+
			"(several brokers share one PostgreSQL database, never one data directory)", dir, who)
	}
	if err != nil {
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("broker pid %d on %s, -listen %s, since %s\n", os.Getpid(), host, listen,
		time.Now().Format(time.RFC3339))), 0)
	_ = f.Sync()
	return &dataLock{f: f}, nil
}

func (l *dataLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Truncate(0)
		_ = l.f.Close()
	}
}
