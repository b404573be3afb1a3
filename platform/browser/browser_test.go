package browser

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// A meeting link as the app gets it: the one-time tokens in the fragment,
// joined by &, which no shell may see.
const link = "https://zaitaku.example.lg.jp:8443/meet/Ab3_x-9#join=zmj_tok&lobby=zml_tok"

// TestCommandGolden pins the command each OS runs to open a meeting link.
func TestCommandGolden(t *testing.T) {
	for _, goos := range []string{"windows", "darwin", "linux"} {
		t.Run(goos, func(t *testing.T) {
			name, args := Command(goos, link)
			got := []byte(strings.Join(append([]string{name}, args...), "\n") + "\n")
			path := filepath.Join("testdata", "open-"+goos+".txt")
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
				t.Errorf("%s: got\n%s\nwant\n%s", goos, got, want)
			}
			// The link is one argument, whole: nothing splits it at &.
			if args[len(args)-1] != link {
				t.Errorf("%s: the link is not passed whole: %q", goos, args)
			}
		})
	}
}

func TestOnlyWebLinksAreOpened(t *testing.T) {
	for _, bad := range []string{"file:///etc/passwd", "C:\\Windows\\system32\\calc.exe", "javascript:alert(1)", "ms-settings:", "https://", ""} {
		if Check(bad) == nil {
			t.Errorf("%q would be opened", bad)
		}
	}
	if err := Check(link); err != nil {
		t.Errorf("a meeting link is refused: %v", err)
	}
	if err := (Opener{}).OpenURL(t.Context(), "file:///etc/passwd"); err != ErrNotWeb {
		t.Errorf("OpenURL(file:...) = %v", err)
	}
}
