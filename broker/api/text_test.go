package api

import "testing"

func TestCheckTextAndPrintable(t *testing.T) {
	for _, tc := range []struct {
		in, printed string
		ok          bool
	}{
		{"総務課-01 (山田)", "総務課-01 (山田)", true},
		{"laptop \x1b[2J", `laptop \x1b[2J`, false},
		{"bell\a", `bell\x07`, false},
		{"cr\rforged row", `cr\x0dforged row`, false},
		{"nul\x00", `nul\x00`, false},
		{"abc\u202egnp.exe", `abc\u202egnp.exe`, false},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`, false},
		{"bad\xffutf8", `bad\xffutf8`, false},
		{"c1\u009b", `c1\x9b`, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			err := CheckText("name", tc.in, 100)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckText(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if got := Printable(tc.in); got != tc.printed {
				t.Fatalf("Printable(%q) = %q, want %q", tc.in, got, tc.printed)
			}
		})
	}
	if err := CheckText("name", "あいうえお", 4); err == nil {
		t.Fatal("5 characters passed a limit of 4")
	}
}
