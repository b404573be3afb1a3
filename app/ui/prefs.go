package ui

import (
	"strings"

	"fyne.io/fyne/v2"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Preference keys. Fyne keeps preferences per app ID in the user's config
// directory; none of these is a secret (tokens live in the OS keyring).
const (
	prefBroker      = "broker_url"
	prefPins        = "broker_key_pins" // comma-separated key pins
	prefTrustOS     = "broker_trust_os_store"
	prefFingerprint = "broker_fingerprint" // a certificate pin of the earlier form
	prefDevice      = "device_name"
	prefLang        = "lang" // "", "ja" or "en"; "" follows the OS
	prefNotify      = "notify"
	prefRemember    = "remember"
	prefStaffID     = "last_staff_id"
)

// Profile is what first run sets up: where the broker is and how to trust it.
type Profile struct {
	BrokerURL string
	// Pins are the broker's key pins (api.KeyPin), comma-separated: IT may
	// announce the next key's pin beside the current one before rotating.
	Pins string
	// Fingerprint is a certificate pin of the earlier form; the first
	// contact that matches it replaces it with the key's pin.
	Fingerprint string
	// TrustOS trusts an unpinned broker whose certificate the OS store
	// vouches for: only IT sets it (managed rollouts with a real
	// certificate), through the preset.
	TrustOS    bool
	DeviceName string
}

// Complete reports whether first run can be skipped: the broker, how to
// trust it, and the laptop's name are known.
func (p Profile) Complete() bool {
	return p.BrokerURL != "" && p.DeviceName != "" && (p.Pins != "" || p.Fingerprint != "" || p.TrustOS)
}

// PinList returns the key pins one by one.
func (p Profile) PinList() []string { return splitPins(p.Pins) }

func splitPins(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// hasPin reports whether the profile pins the key pin.
func (p Profile) hasPin(pin string) bool {
	for _, q := range p.PinList() {
		if api.SamePin(q, pin) {
			return true
		}
	}
	return false
}

// withPin returns the profile with pin added, and the certificate pin of
// the earlier form gone (the key pin replaces it).
func (p Profile) withPin(pin string) Profile {
	if !p.hasPin(pin) {
		p.Pins = strings.Join(append(p.PinList(), pin), ",")
	}
	p.Fingerprint = ""
	return p
}

// loadProfile merges preset (flags, installer config) over saved preferences:
// a preset field wins, so IT can re-point laptops by reinstalling.
func loadProfile(p fyne.Preferences, preset Profile) Profile {
	out := Profile{
		BrokerURL:   p.String(prefBroker),
		Pins:        p.String(prefPins),
		Fingerprint: p.String(prefFingerprint),
		TrustOS:     p.Bool(prefTrustOS),
		DeviceName:  p.String(prefDevice),
	}
	if preset.BrokerURL != "" {
		if preset.BrokerURL != out.BrokerURL {
			// A pin belongs to the broker it was taken from.
			out.Pins, out.Fingerprint, out.TrustOS = "", "", false
		}
		out.BrokerURL = preset.BrokerURL
	}
	switch {
	case preset.Pins != "":
		out.Pins, out.Fingerprint = preset.Pins, ""
	case preset.Fingerprint != "" && out.Pins == "":
		// Until the first contact turns it into a key pin.
		out.Fingerprint = preset.Fingerprint
	}
	if preset.TrustOS {
		out.TrustOS = true
	}
	if preset.DeviceName != "" {
		out.DeviceName = preset.DeviceName
	}
	return out
}

func saveProfile(p fyne.Preferences, pr Profile) {
	p.SetString(prefBroker, pr.BrokerURL)
	p.SetString(prefPins, pr.Pins)
	p.SetString(prefFingerprint, pr.Fingerprint)
	p.SetBool(prefTrustOS, pr.TrustOS)
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
