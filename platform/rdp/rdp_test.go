package rdp

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var specs = []struct {
	name string
	spec Spec
}{
	{"lgwan-window", Spec{Host: "127.0.0.1", Port: 49152, User: "yamada", Width: 1280, Height: 800, Title: "総務課 PC-07"}},
	{"lgwan-fullscreen-domain", Spec{Host: "127.0.0.1", Port: 3390, User: "山田花子", Domain: "CITY", Fullscreen: true}},
	{"no-user-default-size", Spec{Host: "::1", Port: 50000}},
	{"relaxed-by-it", Spec{Host: "127.0.0.1", Port: 40000, User: "sato", Width: 1024, Height: 768,
		Policy: Policy{Clipboard: true, Drives: true, Printers: true, SmartCards: true, USB: true, Audio: true}}},
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if intended)\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

func TestRDPFileGolden(t *testing.T) {
	for _, tc := range specs {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name+".rdp", BuildRDPFile(tc.spec))
		})
	}
}

func TestXFreeRDPArgsGolden(t *testing.T) {
	for _, tc := range specs {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name+".xfreerdp.txt", []byte(strings.Join(XFreeRDPArgs(tc.spec), "\n")+"\n"))
		})
	}
}

// TestLGWANProfileIsTheDefault checks the zero Policy against the rules
// directly, independently of the golden files.
func TestLGWANProfileIsTheDefault(t *testing.T) {
	s := Spec{Host: "127.0.0.1", Port: 1234, User: "u", Width: 800, Height: 600}
	rdp := string(BuildRDPFile(s))
	for _, want := range []string{"redirectclipboard:i:0", "redirectdrives:i:0", "drivestoredirect:s:\r\n",
		"redirectprinters:i:0", "redirectsmartcards:i:0", "usbdevicestoredirect:s:\r\n", "devicestoredirect:s:\r\n", "audiocapturemode:i:0"} {
		if !strings.Contains(rdp, want) {
			t.Errorf(".rdp lacks %q", want)
		}
	}
	args := XFreeRDPArgs(s)
	joined := " " + strings.Join(args, " ") + " "
	for _, want := range []string{" -clipboard ", " -drives ", " -home-drive "} {
		if !strings.Contains(joined, want) {
			t.Errorf("xfreerdp args lack %q: %v", want, args)
		}
	}
	for _, bad := range []string{"/drive", "+drives", "/printer", "/smartcard", "/usb", "+clipboard", "/microphone"} {
		if strings.Contains(joined, bad) {
			t.Errorf("xfreerdp args contain %q: %v", bad, args)
		}
	}
}

func TestSpecRefusesInjection(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"line break in user adds a setting", Spec{Host: "127.0.0.1", Port: 1, User: "x\r\ndrivestoredirect:s:*"}},
		{"line break in title", Spec{Host: "127.0.0.1", Port: 1, Title: "a\nb"}},
		{"no port", Spec{Host: "127.0.0.1"}},
		{"half a size", Spec{Host: "127.0.0.1", Port: 1, Width: 800}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LaunchWith(context.Background(), tc.spec, Options{}); err == nil || errors.Is(err, ErrClientMissing) {
				t.Fatalf("err = %v, want a refusal of the spec", err)
			}
		})
	}
}

func TestEncodeUTF16(t *testing.T) {
	text := BuildRDPFile(specs[1].spec)
	enc := EncodeUTF16(text)
	if enc[0] != 0xFF || enc[1] != 0xFE {
		t.Fatalf("no UTF-16LE byte order mark: % x", enc[:2])
	}
	u := make([]uint16, (len(enc)-2)/2)
	for i := range u {
		u[i] = uint16(enc[2+2*i]) | uint16(enc[3+2*i])<<8
	}
	if got := string(utf16.Decode(u)); got != string(text) || !strings.Contains(got, `CITY\山田花子`) {
		t.Fatalf("round trip = %q", got)
	}
}

func TestRDPFileDeletedAfterUse(t *testing.T) {
	for _, fail := range []bool{false, true} {
		var seen string
		err := withRDPFile([]byte("full address:s:127.0.0.1:1\r\n"), func(path string) error {
			seen = path
			b, err := os.ReadFile(path)
			if err != nil || !strings.HasPrefix(string(b), "full address") {
				t.Fatalf("file during use: %q, %v", b, err)
			}
			if st, _ := os.Stat(path); st.Mode().Perm()&0o077 != 0 {
				t.Fatalf("file readable by others: %v", st.Mode())
			}
			if fail {
				return errors.New("client failed")
			}
			return nil
		})
		if fail != (err != nil) {
			t.Fatalf("fail=%v: err = %v", fail, err)
		}
		if _, err := os.Stat(seen); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("fail=%v: %s still exists after use (%v)", fail, seen, err)
		}
	}
}
