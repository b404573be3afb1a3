package api

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports the first character of s that has no place in a name,
// an ID or a reason people read: control characters (ESC, BEL, CR, NUL,
// ...), which can rewrite a terminal or a log line, and the invisible
// bidi and line controls (U+202E and friends), which can make text read
// backwards. ok is false when there is none. Invalid UTF-8 is reported as
// utf8.RuneError.
func Unsafe(s string) (r rune, found bool) {
	for i, c := range s {
		if c == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return c, true
			}
		}
		if unsafeRune(c) {
			return c, true
		}
	}
	return 0, false
}

func unsafeRune(c rune) bool {
	switch {
	case unicode.IsControl(c): // C0, DEL, C1
		return true
	case c >= 0x202A && c <= 0x202E, c >= 0x2066 && c <= 0x2069, c == 0x200E, c == 0x200F, c == 0x061C:
		return true // bidi embeddings, overrides, isolates and marks
	case c == 0x2028, c == 0x2029:
		return true // line and paragraph separators
	}
	return false
}

// CheckText validates a text field from outside: valid UTF-8, at most max
// characters, nothing Unsafe. The error names the field and the character.
func CheckText(field, v string, max int) *Error {
	if r, bad := Unsafe(v); bad {
		if r == utf8.RuneError {
			return Errf(CodeValidation, "%s: not valid UTF-8 text", field)
		}
		return Errf(CodeValidation, "%s: contains an invisible or control character (%U); use plain text", field, r)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return Errf(CodeValidation, "%s: at most %d characters (this has %d)", field, max, n)
	}
	return nil
}

// Printable returns s with every Unsafe character written as an escape
// (\x1b, \u202e), for output to a terminal or a plain-text log: what
// staff or a laptop sent can be read, never executed.
func Printable(s string) string {
	if _, bad := Unsafe(s); !bad {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i, c := range s {
		switch {
		case c == utf8.RuneError && !validAt(s, i):
			out = fmt.Appendf(out, `\x%02x`, s[i])
		case unsafeRune(c) && c < 0x100:
			out = fmt.Appendf(out, `\x%02x`, c)
		case unsafeRune(c):
			out = fmt.Appendf(out, `\u%04x`, c)
		default:
			out = utf8.AppendRune(out, c)
		}
	}
	return string(out)
}

func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size > 1
}
