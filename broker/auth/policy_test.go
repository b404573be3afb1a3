package auth

import (
	"strings"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, pw, id string
		ok           bool
		detail       string // part of the English detail
	}{
		{"good", "Hinode-Kaze-42", "k1001", true, ""},
		{"good with japanese letters", "富士山-Kaze-42x", "k1001", true, ""},
		{"too short", "Ab1-xyz", "k1001", false, "at least 10"},
		{"two classes", "abcdefghijkz", "k1001", false, "Mix at least 3"},
		{"contains staff id", "xK1001-Hana-9", "k1001", false, "staff ID"},
		{"dictionary word", "Password2024!", "k1001", false, "common words"},
		{"leet dictionary word", "P@ssw0rd!!42", "k1001", false, "common words"},
		{"mostly a place name", "Yokohama#2026", "k1001", false, "common words"},
		{"run of digits", "Kaze-Hana-1234", "k1001", false, "runs"},
		{"repeated letters", "Kaze-aaaa-Hana7", "k1001", false, "runs"},
		{"control char", "Kaze-Hana-42\x00x", "k1001", false, "control"},
		{"too long", strings.Repeat("Ab1-", 40), "k1001", false, "at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := CheckPassword(tc.pw, tc.id, DefaultPolicy)
			if tc.ok {
				if e != nil {
					t.Fatalf("refused: %v", e)
				}
				return
			}
			if e == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(e.Detail, tc.detail) || e.DetailJA == "" {
				t.Fatalf("detail %q / %q, want %q and a Japanese detail", e.Detail, e.DetailJA, tc.detail)
			}
		})
	}
}

func TestTemporaryPasswordMeetsPolicy(t *testing.T) {
	for i := 0; i < 2000; i++ {
		pw := TemporaryPassword()
		if e := CheckPassword(pw, "k1001", DefaultPolicy); e != nil {
			t.Fatalf("%q: %v", pw, e)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("Hinode-Kaze-42", TestArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	ok, stale, err := VerifyPassword("Hinode-Kaze-42", h, TestArgon2)
	if err != nil || !ok || stale {
		t.Fatalf("verify: %v %v %v", ok, stale, err)
	}
	if ok, _, _ := VerifyPassword("hinode-kaze-42", h, TestArgon2); ok {
		t.Fatal("wrong password verified")
	}
	if _, stale, _ := VerifyPassword("Hinode-Kaze-42", h, ProductionArgon2); !stale {
		t.Fatal("parameter change not detected")
	}
	if _, _, err := VerifyPassword("x", "$argon2id$garbage", TestArgon2); err == nil {
		t.Fatal("malformed hash accepted")
	}
}

// TestProductionArgon2Cost runs the production cost once, so a change to
// it is seen by the tests (the benchmarks measure its speed).
func TestProductionArgon2Cost(t *testing.T) {
	h, err := HashPassword("Hinode-Kaze-42", ProductionArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "m=65536,t=1,p=1") {
		t.Fatalf("production parameters changed: %s", h)
	}
	if ok, stale, err := VerifyPassword("Hinode-Kaze-42", h, ProductionArgon2); !ok || stale || err != nil {
		t.Fatal("production hash does not verify")
	}
}

func TestMatchTOTPWindow(t *testing.T) {
	secret := "JBSWY3DPEHPK3PXPAAAAAAAAAAAAAAAA"
	now := mustTime("2026-04-01T09:00:10Z")
	for _, tc := range []struct {
		name  string
		at    string
		match bool
	}{
		{"now", "2026-04-01T09:00:10Z", true},
		{"previous step", "2026-04-01T08:59:50Z", true},
		{"next step", "2026-04-01T09:00:35Z", true},
		{"two steps old", "2026-04-01T08:59:20Z", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := TOTPCode(secret, mustTime(tc.at))
			if got := matchTOTP(secret, code, now) >= 0; got != tc.match {
				t.Fatalf("match = %v", got)
			}
		})
	}
	if matchTOTP(secret, "12345", now) >= 0 || matchTOTP(secret, "abcdef", now) >= 0 {
		t.Fatal("malformed code matched")
	}
}
