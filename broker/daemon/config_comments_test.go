package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigFileComments(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       Config
		wantErr    string
	}{
		{name: "whole-line comments", file: "{\n  // where the database lives\n  \"data\": \"/var/lib/zaitaku\",\n    // \"listen\": \":443\",\n  \"listen\": \":8443\"\n}\n",
			want: Config{Data: "/var/lib/zaitaku", Listen: ":8443"}},
		{name: "slashes inside a value stay", file: "{\"public_url\": \"https://zaitaku.example.lg.jp:8443\"}",
			want: Config{PublicURL: "https://zaitaku.example.lg.jp:8443"}},
		{name: "a comment after a value is not one", file: "{\"listen\": \":8443\" // no\n}", wantErr: "invalid character '/'"},
		{name: "unknown keys still refused", file: "{\n// fine\n\"lisen\": \":8443\"\n}", wantErr: "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "broker.json")
			if err := os.WriteFile(p, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseServe([]string{"-config", p}, func(string) string { return "" }, &strings.Builder{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Data != "" && cfg.Data != tc.want.Data || tc.want.Listen != "" && cfg.Listen != tc.want.Listen || cfg.PublicURL != tc.want.PublicURL {
				t.Fatalf("cfg = %+v, want %+v", cfg, tc.want)
			}
		})
	}
}

func TestStripCommentsKeepsLines(t *testing.T) {
	in := "{\n// a\n  // b\n\"x\": 1}\n// end"
	out := stripComments(in)
	if strings.Count(out, "\n") != strings.Count(in, "\n") || strings.Contains(out, "//") {
		t.Fatalf("stripComments(%q) = %q", in, out)
	}
}
