package font

// candidates: Hiragino Sans W6 is macOS's bold Japanese system face.
func candidates() []candidate {
	return []candidate{
		{"/System/Library/Fonts/ヒラギノ角ゴシック W6.ttc", 0},
		{"/System/Library/Fonts/Hiragino Sans GB.ttc", 0},
	}
}
