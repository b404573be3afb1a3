package font

import (
	"os"
	"path/filepath"
)

// candidates are the bold Japanese faces Windows has shipped since 8.1
// (Yu Gothic) and Vista (Meiryo); face 0 of each collection is the
// regular-width family.
func candidates() []candidate {
	dir := filepath.Join(os.Getenv("WINDIR"), "Fonts")
	return []candidate{
		{filepath.Join(dir, "YuGothB.ttc"), 0},
		{filepath.Join(dir, "meiryob.ttc"), 0},
	}
}
