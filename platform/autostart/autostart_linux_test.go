package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLinuxAutostart(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	e := Entry{ID: "jp.lg.zaitaku", Name: "Zaitaku", Exec: "/opt/Zaitaku App/zaitaku", Args: []string{"-minimized"}}

	if on, err := e.Enabled(); err != nil || on {
		t.Fatalf("Enabled before = %v, %v", on, err)
	}
	if err := e.Enable(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg, "autostart", "jp.lg.zaitaku.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Exec=\"/opt/Zaitaku App/zaitaku\" -minimized\n") {
		t.Errorf("desktop file:\n%s", b)
	}
	if on, err := e.Enabled(); err != nil || !on {
		t.Fatalf("Enabled after = %v, %v", on, err)
	}
	if err := e.Disable(); err != nil {
		t.Fatal(err)
	}
	if err := e.Disable(); err != nil {
		t.Fatalf("second Disable: %v", err)
	}
	if on, _ := e.Enabled(); on {
		t.Fatal("still enabled after Disable")
	}
}
