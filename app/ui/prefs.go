package ui

import (
	"strings"

	"fyne.io/fyne/v2"
)

// Preference keys. Fyne keeps preferences per app ID in the user's config
// directory; none of these is a secret (tokens live in the OS keyring).
const (
	prefBroker      = "broker_url"
	prefFingerprint = "broker_fingerprint"
	prefDevice      = "device_name"
	prefLang        = "lang" // "", "ja" or "en"; "" follows the OS
	prefNotify      = "notify"
	prefRemember    = "remember"
	prefStaffID     = "last_staff_id"
)

// Profile is what first run sets up: where the broker is and how to trust it.
type Profile struct {
	BrokerURL   string
	Fingerprint string // SHA-256 of a self-signed certificate; "" when a CA vouches for it
	DeviceName  string
}

// Complete reports whether first run can be skipped.
func (p Profile) Complete() bool { return p.BrokerURL != "" && p.DeviceName != "" }

// loadProfile merges preset (flags, installer config) over saved preferences:
// a preset field wins, so IT can re-point laptops by reinstalling.
func loadProfile(p fyne.Preferences, preset Profile) Profile {
	out := Profile{
		BrokerURL:   p.String(prefBroker),
		Fingerprint: p.String(prefFingerprint),
		DeviceName:  p.String(prefDevice),
	}
	if preset.BrokerURL != "" {
		if preset.BrokerURL != out.BrokerURL {
			out.Fingerprint = "" // a pin belongs to the broker it was taken from
		}
		out.BrokerURL = preset.BrokerURL
	}
	if preset.Fingerprint != "" {
		out.Fingerprint = preset.Fingerprint
	}
	if preset.DeviceName != "" {
		out.DeviceName = preset.DeviceName
	}
	return out
}

func saveProfile(p fyne.Preferences, pr Profile) {
	p.SetString(prefBroker, pr.BrokerURL)
	p.SetString(prefFingerprint, pr.Fingerprint)
	p.SetString(prefDevice, pr.DeviceName)
}

// sameFingerprint compares fingerprints as IT may write them: with or
// without colons, any case, an optional "sha256/" prefix.
func sameFingerprint(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		s = strings.TrimPrefix(s, "sha256/")
		return strings.NewReplacer(":", "", " ", "").Replace(s)
	}
	return a != "" && norm(a) == norm(b)
}
