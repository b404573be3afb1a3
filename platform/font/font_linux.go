package font

import (
	"os/exec"
	"strconv"
	"strings"
)

// candidates asks fontconfig first (it knows the face inside a
// collection), then looks where Debian's fonts-noto-cjk puts it.
func candidates() []candidate {
	var out []candidate
	if b, err := exec.Command("fc-match", "-f", "%{file}\n%{index}", "sans-serif:lang=ja:weight=bold").Output(); err == nil {
		if file, idx, ok := strings.Cut(string(b), "\n"); ok {
			if i, err := strconv.Atoi(strings.TrimSpace(idx)); err == nil && file != "" {
				out = append(out, candidate{file, i})
			}
		}
	}
	return append(out,
		candidate{"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 0}, // Noto Sans CJK JP Bold
		candidate{"/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 0},
		candidate{"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc", 0},
	)
}
