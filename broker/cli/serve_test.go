package cli_test

import (
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestSecondBrokerRefused: a second `broker serve` on a data directory in
// use refuses with a message that says who holds it, while one-shot admin
// commands keep working next to the running broker.
func TestSecondBrokerRefused(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	b.CreateUser(t, "second01")
	out, errs, code := run(t, dir, "serve", "-listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errs, "is in use by broker pid") || !strings.Contains(errs, "-data") {
		t.Fatalf("second serve: code %d out %q err %q", code, out, errs)
	}
	out, errs, code = run(t, dir, "admin", "users", "list")
	if code != 0 || !strings.Contains(out, "second01") {
		t.Fatalf("users list next to the running broker: code %d out %q err %q", code, out, errs)
	}
	b.Stop()
	// Once the first has stopped, the directory is free again.
	// A bad port is refused before anything is opened.
	out, errs, code = run(t, dir, "serve", "-listen", "127.0.0.1:99999")
	if code != 2 || strings.Contains(errs, "in use") || !strings.Contains(errs, "0 to 65535") {
		t.Fatalf("serve with a bad port: code %d err %q", code, errs)
	}
}
