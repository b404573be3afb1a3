package ui

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/oplog"
)

// diagInfo is everything "copy diagnostics" may show. It holds no secrets by
// construction: no password, token, key or one-time code ever reaches it.
// codeAppError stands for an error that did not come from the broker.
const codeAppError = "app_error"

type diagInfo struct {
	Version string
	Lang    string
	Profile Profile
	State   core.State
	Errors  []recentError
	Now     time.Time
	Log     *oplog.Status // nil: not wired
}

type recentError struct {
	At   time.Time
	Code string
}

// diagnostics renders diagInfo for the help desk. It is deliberately in
// English key: value lines (not translated) so the help desk can read any
// laptop's report the same way.
func diagnostics(d diagInfo) string {
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s: %v\n", k, v) }
	line("zaitaku", d.Version)
	line("time", d.Now.UTC().Format(time.RFC3339))
	line("os", runtime.GOOS+"/"+runtime.GOARCH)
	line("lang", d.Lang)
	line("broker", d.Profile.BrokerURL)
	line("key_pins", len(d.Profile.PinList()))
	line("pinned_fingerprint", d.Profile.Fingerprint != "") // not yet turned into a key pin
	line("trust_os_store", d.Profile.TrustOS)
	line("device", d.Profile.DeviceName)
	st := d.State
	line("phase", st.Phase)
	line("online", st.Online)
	if st.User != nil {
		line("staff_id", st.User.ID)
	}
	if st.Terminal != nil {
		line("terminal", st.Terminal.Name+" ("+string(st.Terminal.State)+")")
	}
	if st.SlotsCap > 0 {
		line("slots", fmt.Sprintf("%d free of %d", st.SlotsFree, st.SlotsCap))
	}
	if st.Phase == core.Queued {
		line("queue", st.Queue)
	}
	if st.Err != nil {
		line("error", st.Err.Code)
	}
	if st.EndReason != "" {
		line("last_end", st.EndReason)
	}
	if l := d.Log; l != nil {
		last := "none"
		if !l.LastUpload.IsZero() {
			last = l.LastUpload.UTC().Format(time.RFC3339)
		}
		line("oplog", fmt.Sprintf("pending=%d last_upload=%s uploading=%t fill=%d%%", l.Pending, last, l.Uploading, l.FillPercent))
		if l.LastError != "" {
			line("oplog_error", l.LastError)
		}
	}
	if len(d.Errors) == 0 {
		line("recent_errors", "none")
	}
	for _, e := range d.Errors {
		line("recent_error", e.At.UTC().Format(time.RFC3339)+" "+e.Code)
	}
	return b.String()
}
