package ui

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadPreset(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	if p, err := LoadPreset(missing); err != nil || p != (Profile{}) {
		t.Fatalf("no file: %+v, %v", p, err)
	}
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"broker": "zaitaku.example.lg.jp:8443", "fingerprint": "AB:CD"}`), 0o644)
	p, err := LoadPreset(missing, good)
	if err != nil || p.BrokerURL != "https://zaitaku.example.lg.jp:8443" || p.Fingerprint != "AB:CD" {
		t.Fatalf("good: %+v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"broker": "http://plain"}`), 0o644)
	if _, err := LoadPreset(bad, good); err == nil {
		t.Fatal("a plain-http broker in a preset must be an error, not ignored")
	}
	if got := PresetPaths("/opt/zaitaku/zaitaku"); got[0] != "/opt/zaitaku/zaitaku-app.json" {
		t.Errorf("paths %q", got)
	}
}
