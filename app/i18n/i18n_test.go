package i18n

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTablesHaveSameKeys(t *testing.T) {
	for k := range ja {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in ja but not in en", k)
		}
	}
	for k := range en {
		if _, ok := ja[k]; !ok {
			t.Errorf("key %q is in en but not in ja", k)
		}
	}
}

// A format verb missing in one language shows "%!d(MISSING)" to staff.
func TestTablesAgreeOnVerbs(t *testing.T) {
	for k, j := range ja {
		if got, want := verbs(en[k]), verbs(j); got != want {
			t.Errorf("key %q: en verbs %q, ja verbs %q", k, got, want)
		}
	}
}

func verbs(s string) string {
	var out []string
	for i := 0; i < len(s)-1; i++ {
		if s[i] == '%' {
			out = append(out, s[i:i+2])
			i++
		}
	}
	return strings.Join(out, ",")
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", Japanese}, {"ja", Japanese}, {"ja_JP.UTF-8", Japanese}, {"ja-JP", Japanese},
		{"en", English}, {"en_US.UTF-8", English}, {"EN-gb", English}, {"fr_FR", Japanese},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"none", nil, ""},
		{"C locale is no choice", map[string]string{"LANG": "C"}, ""},
		{"lang", map[string]string{"LANG": "en_US.UTF-8"}, English},
		{"lc_all wins", map[string]string{"LANG": "en_US.UTF-8", "LC_ALL": "ja_JP.UTF-8"}, Japanese},
		{"lc_messages over lang", map[string]string{"LANG": "ja_JP.UTF-8", "LC_MESSAGES": "en_GB"}, English},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromEnv(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestT(t *testing.T) {
	if got := New("ja").T(HomeSlots, 28, 140); got != "空き 28 / 140" {
		t.Errorf("ja slots = %q", got)
	}
	if got := New("en").T(HomeSlots, 28, 140); got != "Free 28 / 140" {
		t.Errorf("en slots = %q", got)
	}
	if got := (*Tr)(nil).T(LoginTitle); got != "サインイン" {
		t.Errorf("nil translator should be Japanese, got %q", got)
	}
	if got := New("ja").T(Key("no.such")); got != "no.such" {
		t.Errorf("missing key = %q", got)
	}
	for k, v := range ja {
		if strings.Contains(fmt.Sprint(v), "TODO") {
			t.Errorf("key %q is unfinished", k)
		}
	}
}

func TestClock(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0:00"}, {0, "0:00"}, {65 * time.Second, "1:05"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1:02:03"},
	} {
		if got := Clock(tc.d); got != tc.want {
			t.Errorf("Clock(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if Minutes(0) != 1 || Minutes(61*time.Second) != 2 || Minutes(3*time.Minute) != 3 {
		t.Errorf("Minutes rounding wrong")
	}
}
