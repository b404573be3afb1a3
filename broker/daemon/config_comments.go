package daemon

import "strings"

// stripComments blanks the lines of a -config file whose first non-blank
// characters are "//", so the file the .deb installs can explain each key
// beside it (packaging/deb/broker.json). Only whole lines: "//" inside a
// value ("https://...") is left alone. Blanked lines keep their newline,
// so a JSON error still names the right line and column.
func stripComments(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "//") {
			if strings.HasSuffix(l, "\n") {
				lines[i] = "\n"
			} else {
				lines[i] = ""
			}
		}
	}
	return strings.Join(lines, "")
}
