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
	pins := filepath.Join(dir, "pins.json")
	os.WriteFile(pins, []byte(`{"broker": "b:8443", "pins": ["`+pin+`", "`+nextPin+`"], "trust_os_store": false}`), 0o644)
	if p, err := LoadPreset(pins); err != nil || p.Pins != pin+","+nextPin || len(p.PinList()) != 2 {
		t.Fatalf("pins: %+v, %v", p, err)
	}
	os.WriteFile(pins, []byte(`{"broker": "b:8443", "pins": ["AB:CD"]}`), 0o644)
	if _, err := LoadPreset(pins); err == nil {
		t.Fatal("a malformed pin in a preset must be an error")
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
