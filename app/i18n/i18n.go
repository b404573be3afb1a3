// Package i18n holds every string the desktop app shows, in Japanese (the
// default) and English. Screens look strings up by Key so that a missing
// translation is a test failure, not a half-English window.
//
// Fyne's own lang package keeps one global localizer chosen at start; staff
// switch language in Settings without a restart, so the app keeps its own
// small table and rebuilds its screens on a switch.
package i18n

import (
	"fmt"
	"strings"
)

// Key names one string in the tables.
type Key string

// Supported languages.
const (
	Japanese = "ja"
	English  = "en"
)

// Languages lists the supported languages, default first.
var Languages = []string{Japanese, English}

// Tr translates keys into one language. The zero value is Japanese.
type Tr struct {
	lang string
}

// New returns a translator for lang ("ja", "en", or a locale such as
// "en_US.UTF-8" or "ja-JP"); anything not English is Japanese, because the
// app is for Japanese municipal offices.
func New(lang string) *Tr { return &Tr{lang: Normalize(lang)} }

// Normalize maps a locale string to a supported language.
func Normalize(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	if strings.HasPrefix(l, "en") {
		return English
	}
	return Japanese
}

// Lang returns the language code ("ja" or "en").
func (t *Tr) Lang() string {
	if t == nil || t.lang == "" {
		return Japanese
	}
	return t.lang
}

// T returns the string for key, formatted with args (fmt verbs) when given.
// A key missing from the table comes back as the key itself so that it is
// visible on screen and in tests.
func (t *Tr) T(key Key, args ...any) string {
	tab := ja
	if t.Lang() == English {
		tab = en
	}
	s, ok := tab[key]
	if !ok {
		return string(key)
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Table returns a copy of a language's table (for tests and tools).
func Table(lang string) map[Key]string {
	tab := ja
	if Normalize(lang) == English {
		tab = en
	}
	out := make(map[Key]string, len(tab))
	for k, v := range tab {
		out[k] = v
	}
	return out
}

// FromEnv picks the language from the POSIX locale variables, in the order
// the C library reads them. It returns "" when none is set, so the caller can
// fall back to the OS (Windows and macOS do not use these variables).
func FromEnv(getenv func(string) string) string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" && s != "C" && s != "POSIX" {
			return Normalize(s)
		}
	}
	return ""
}
