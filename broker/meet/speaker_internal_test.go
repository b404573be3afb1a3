package meet

import "testing"

// TestPickSpeaker: the floor stays with the current speaker while they
// speak and nobody has twice their power; it goes to the most powerful
// when they fall silent; nobody speaking changes nothing.
func TestPickSpeaker(t *testing.T) {
	for _, c := range []struct {
		name, current string
		power         map[string]int64
		want          string
	}{
		{"nobody speaks", "a", map[string]int64{}, ""},
		{"first speaker", "", map[string]int64{"a": 10}, "a"},
		{"equal voices keep the floor", "a", map[string]int64{"a": 100, "b": 100}, "a"},
		{"a little louder is not enough", "a", map[string]int64{"a": 100, "b": 199}, "a"},
		{"twice the power takes it", "a", map[string]int64{"a": 100, "b": 200}, "b"},
		{"the speaker falls silent", "a", map[string]int64{"b": 5, "c": 7}, "c"},
		{"a tie without a holder goes by ID", "", map[string]int64{"b": 5, "c": 5}, "b"},
	} {
		if got := pickSpeaker(c.current, c.power); got != c.want {
			t.Errorf("%s: pickSpeaker(%q, %v) = %q, want %q", c.name, c.current, c.power, got, c.want)
		}
	}
}

// TestVoicePower: 10 dB is ten times the power, -40 dBov is 1.
func TestVoicePower(t *testing.T) {
	if voicePower[voicedLevel] != 1 || voicePower[voicedLevel-10] != 10 || voicePower[0] != 10000 {
		t.Fatalf("voicePower: %v", voicePower)
	}
}
