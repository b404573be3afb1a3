package meet

import (
	"testing"
	"time"
)

// SetNewVideoSettle sets how long a new video's ramp is waited out, for
// the test (and the broker it starts afterwards) only.
func SetNewVideoSettle(t *testing.T, d time.Duration) {
	old := newVideoSettle
	newVideoSettle = d
	t.Cleanup(func() { newVideoSettle = old })
}

// SpeakerTick is the speaker detector's period.
const SpeakerTick = speakerTick
