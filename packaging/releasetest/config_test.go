package releasetest

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestPackagedConfig: the .deb's commented config is one the broker reads
// as it is, and with every commented-out key switched on, so each key it
// documents is a real one.
func TestPackagedConfig(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "deb", "broker.json"))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(text string) (daemon.Config, error) {
		p := filepath.Join(t.TempDir(), "broker.json")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return daemon.ParseServe([]string{"-config", p}, func(string) string { return "" }, &strings.Builder{})
	}
	cfg, err := parse(string(src))
	if err != nil {
		t.Fatalf("the packaged config: %v", err)
	}
	if cfg.Data != "/var/lib/zaitaku" || cfg.Listen != ":8443" {
		t.Errorf("data %q listen %q, want /var/lib/zaitaku and :8443 (the unit's ReadWritePaths)", cfg.Data, cfg.Listen)
	}
	key := regexp.MustCompile(`(?m)^(\s*)// ("[a-z_]+": .*,)$`)
	if n := len(key.FindAllString(string(src), -1)); n < 10 {
		t.Errorf("only %d commented keys documented", n)
	}
	// Every key the broker reads is explained in the file, but the one
	// that is not for a packaged server.
	notPackaged := map[string]bool{"demo": true}
	ct := reflect.TypeOf(daemon.Config{})
	for i := range ct.NumField() {
		k, _, _ := strings.Cut(ct.Field(i).Tag.Get("json"), ",")
		if k != "" && !notPackaged[k] && !strings.Contains(string(src), `"`+k+`":`) {
			t.Errorf("the packaged config does not explain the broker's key %q", k)
		}
	}
	all := key.ReplaceAllString(string(src), "$1$2")
	// The file shows where a pin goes; a pin of that form here.
	all = strings.ReplaceAll(all, `"sha256/..."`, `"sha256/`+strings.Repeat("A", 43)+`="`)
	// The site's ICE servers file is read at start: one of the form shown.
	ice := filepath.Join(t.TempDir(), "ice-servers.json")
	if err := os.WriteFile(ice, []byte(`[{"urls":["turns:turn.example.lg.jp:443"],"username":"u","credential":"p"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	all = strings.ReplaceAll(all, `"/etc/zaitaku/ice-servers.json"`, strconv.Quote(ice))
	if _, err := parse(all); err != nil {
		t.Errorf("with every documented key on: %v\n%s", err, all)
	}
}

// TestUnitAndConfigAgree: the unit starts the broker on the config the
// package installs and may write where that config keeps the data.
func TestUnitAndConfigAgree(t *testing.T) {
	unit := unitValues(t, filepath.Join("..", "deb", "zaitaku-broker.service"))
	if got := unit["ExecStart"]; len(got) != 1 || got[0] != "/usr/bin/zaitaku-broker serve -config /etc/zaitaku/broker.json" {
		t.Errorf("ExecStart %v", got)
	}
	if got := unit["ReadWritePaths"]; len(got) != 1 || got[0] != "/var/lib/zaitaku" {
		t.Errorf("ReadWritePaths %v", got)
	}
	conf, _ := os.ReadFile(filepath.Join("..", "deb", "conffiles"))
	if strings.TrimSpace(string(conf)) != "/etc/zaitaku/broker.json" {
		t.Errorf("conffiles: %q", conf)
	}
}
