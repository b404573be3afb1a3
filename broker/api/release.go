package api

import (
	"strconv"
	"strings"
	"time"
)

// Self-update wire types. The app trusts none of these because they came
// over TLS: each document is verified with minisign keys that chain back
// to the root keys built into the app (see app/update).

// KeyList is the list of keys the app trusts, signed by a root key: the
// root keys themselves (which sign the next list), the release keys
// (which sign binaries, kept offline by IT) and the online keys (which
// the broker holds to re-sign manifests). Lists are numbered; list n+1
// must be signed by a root key of list n, so a laptop that was away
// walks every list in between.
type KeyList struct {
	Serial  int       `json:"serial"`
	Issued  time.Time `json:"issued"`
	Roots   []string  `json:"roots"`   // minisign public keys ("RW..."), the next list's signers
	Release []string  `json:"release"` // minisign public keys that sign binaries
	Online  []string  `json:"online"`  // minisign public keys that sign manifests
	// Retired keys are never trusted again, whichever later list names them.
	Retired []string `json:"retired,omitempty"`
}

// SignedDoc is a JSON document and its minisign signature. The body is
// kept as the signed bytes (base64 in JSON), never re-encoded.
type SignedDoc struct {
	Body      []byte `json:"body"`
	Signature string `json:"signature"` // the text of a .minisig file
}

// KeyListChain is every key list after the one the app holds, in order.
type KeyListChain struct {
	Lists []SignedDoc `json:"lists"`
}

// ReleaseTarget is one binary the manifest offers.
type ReleaseTarget struct {
	Version   string `json:"version"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`    // hex
	Signature string `json:"signature"` // minisign signature of the binary by a release key
	URL       string `json:"url"`       // path on the broker
}

// Manifest says which release an app on one OS, architecture and channel
// should run. The broker re-signs it with its online key before it
// expires; an app refuses an expired one (a replayed old manifest would
// otherwise keep it on a vulnerable version).
type Manifest struct {
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Channel string `json:"channel"`
	// Target is the newest release; Rollout is the percentage of devices
	// (chosen by a hash of the device ID) offered it. The others are
	// offered Fallback, the newest release rolled out to everyone.
	Target   *ReleaseTarget `json:"target,omitempty"`
	Rollout  int            `json:"rollout"`
	Fallback *ReleaseTarget `json:"fallback,omitempty"`
	// Pinned: IT pinned Target; every device is offered it.
	Pinned bool `json:"pinned,omitempty"`
	// MinVersion: an app below it must update before it may connect.
	MinVersion string    `json:"min_version,omitempty"`
	KeySerial  int       `json:"key_serial"`
	Issued     time.Time `json:"issued"`
	Expires    time.Time `json:"expires"`
}

// Release is a published release, as IT sees it.
type Release struct {
	ID          string    `json:"id"`
	Version     string    `json:"version"`
	OS          string    `json:"os"`
	Arch        string    `json:"arch"`
	Channel     string    `json:"channel"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	KeyID       string    `json:"key_id"` // the release key that signed it
	Rollout     int       `json:"rollout"`
	PublishedAt time.Time `json:"published_at"`
	PublishedBy string    `json:"published_by"`
}

// ReleaseChannel is IT's policy for one channel.
type ReleaseChannel struct {
	Name       string    `json:"name"`
	Pin        string    `json:"pin,omitempty"`
	MinVersion string    `json:"min_version,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ReleaseList is what IT sees of releases.
type ReleaseList struct {
	Releases  []Release        `json:"releases"`
	Channels  []ReleaseChannel `json:"channels"`
	KeySerial int              `json:"key_serial"`
	OnlineKey string           `json:"online_key,omitempty"`
}

// RolloutRequest sets a release's rollout percentage (0 halts it).
type RolloutRequest struct {
	Percent int `json:"percent"`
}

// ChannelUpdate changes a channel's pin or minimum version; nil leaves
// one as it is, "" clears it.
type ChannelUpdate struct {
	Pin        *string `json:"pin,omitempty"`
	MinVersion *string `json:"min_version,omitempty"`
}

// CompareVersions orders dotted versions ("1.2.10" > "1.2.9", an
// optional leading "v"); a pre-release ("1.3.0-rc1") comes before its
// release. Both sides of the update use it, so they agree on "older".
func CompareVersions(a, b string) int {
	an, ap := splitVersion(a)
	bn, bp := splitVersion(b)
	for i := range max(len(an), len(bn)) {
		var x, y int
		if i < len(an) {
			x = an[i]
		}
		if i < len(bn) {
			y = bn[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case ap == bp:
		return 0
	case ap == "":
		return 1
	case bp == "":
		return -1
	case ap < bp:
		return -1
	}
	return 1
}

// ValidVersion reports whether v is a dotted version CompareVersions orders.
func ValidVersion(v string) bool {
	v = strings.TrimPrefix(v, "v")
	core, pre, _ := strings.Cut(v, "-")
	if core == "" || len(v) > 64 || strings.ContainsAny(pre, " \t\n/") {
		return false
	}
	for _, p := range strings.Split(core, ".") {
		if _, err := strconv.Atoi(p); err != nil || p == "" || p[0] == '-' || p[0] == '+' {
			return false
		}
	}
	return true
}

func splitVersion(v string) ([]int, string) {
	v = strings.TrimPrefix(v, "v")
	core, pre, _ := strings.Cut(v, "-")
	var ns []int
	for _, p := range strings.Split(core, ".") {
		n, _ := strconv.Atoi(p)
		ns = append(ns, n)
	}
	return ns, pre
}
