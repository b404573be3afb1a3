package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
)

// PresetFileName is the file an installer (or IT, by group policy) puts
// next to the app or in the system-wide config directory, so staff never
// type the broker address or compare key pins by hand:
//
//	{"broker": "https://zaitaku.example.lg.jp:8443", "pins": ["sha256/..."], "device_name": ""}
//
// "pins" may list the next key's pin before the broker uses it.
// "trust_os_store": true instead trusts the certificate the OS store
// vouches for (a broker with a certificate from a real CA). "fingerprint"
// (a certificate's SHA-256) is the earlier form; it still works, and the
// first contact replaces it with the key's pin.
const PresetFileName = "zaitaku-app.json"

type presetFile struct {
	Broker      string   `json:"broker"`
	Pins        []string `json:"pins"`
	Fingerprint string   `json:"fingerprint"`
	TrustOS     bool     `json:"trust_os_store"`
	DeviceName  string   `json:"device_name"`
}

// PresetPaths lists where LoadPreset looks, most specific first: next to
// the executable, then the OS's system-wide place.
func PresetPaths(exe string) []string {
	var out []string
	if exe != "" {
		out = append(out, filepath.Join(filepath.Dir(exe), PresetFileName))
	}
	switch runtime.GOOS {
	case "windows":
		if pd := os.Getenv("ProgramData"); pd != "" {
			out = append(out, filepath.Join(pd, "Zaitaku", PresetFileName))
		}
	case "darwin":
		out = append(out, filepath.Join("/Library", "Application Support", "Zaitaku", PresetFileName))
	default:
		out = append(out, filepath.Join("/etc", "zaitaku", PresetFileName))
	}
	return out
}

// LoadPreset reads the first preset file that exists. No file is not an
// error (the first-run screen asks); a broken one is, so IT hears of it.
func LoadPreset(paths ...string) (Profile, error) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Profile{}, fmt.Errorf("read preset %s: %w", p, err)
		}
		var f presetFile
		if err := json.Unmarshal(b, &f); err != nil {
			return Profile{}, fmt.Errorf("preset %s: %w", p, err)
		}
		for _, pin := range f.Pins {
			if _, err := api.ParsePin(pin); err != nil {
				return Profile{}, fmt.Errorf("preset %s: %w", p, err)
			}
		}
		pr := Profile{Pins: strings.Join(f.Pins, ","), Fingerprint: f.Fingerprint, TrustOS: f.TrustOS, DeviceName: f.DeviceName}
		if f.Broker != "" {
			if pr.BrokerURL, err = normalizeBrokerURL(f.Broker); err != nil {
				return Profile{}, fmt.Errorf("preset %s: broker %q: %w", p, f.Broker, err)
			}
		}
		return pr, nil
	}
	return Profile{}, nil
}
