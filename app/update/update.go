// Package update is the app's self-update, without UI: it walks the
// chain of root-signed key lists, verifies the broker's short-lived
// manifest, downloads and verifies the binary (size before, SHA-256 and
// the release key's minisign signature after), applies it with
// minio/selfupdate keeping the old binary, and rolls back a new version
// that does not reach its sign-in window. Every step is an
// operation-log event. The broker's half is broker/release; the trust
// scheme is in docs/ARCHITECTURE.md, "Self-update".
package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Source is the broker as the updater sees it (api.Client implements it).
type Source interface {
	ReleaseKeys(ctx context.Context, after int) (*api.KeyListChain, error)
	ReleaseManifest(ctx context.Context, channel, goos, arch string) (*api.SignedDoc, error)
	DownloadRelease(ctx context.Context, path string) (io.ReadCloser, int64, error)
}

var _ Source = (*api.Client)(nil)

// Recorder takes operation-log events (app/oplog's journal implements it).
type Recorder interface {
	Record(event string, fields map[string]string) error
}

// Config is what an Updater is built from.
type Config struct {
	Source Source
	// Roots are the root public keys built into the app (minisign "RW..."
	// lines): the only keys trusted without a key list.
	Roots []string
	// StateDir keeps what the updater remembers (the app's data
	// directory, which an update does not touch).
	StateDir string
	// Exe is the binary to replace (default: the running one).
	Exe      string
	Version  string // the running version
	Channel  string // default "stable"
	DeviceID string // chooses the device's place in staged rollouts
	// Device, when DeviceID is empty, gives it at each check: the app
	// knows its laptop's key only once a broker client exists.
	Device   func() string
	OS, Arch string // default runtime.GOOS, runtime.GOARCH
	Now      func() time.Time
	Recorder Recorder
	// StartDeadline is how long a new version has to reach its sign-in
	// window before the next start rolls it back (default a minute).
	StartDeadline time.Duration
}

// Updater checks, applies and, when a new version fails, rolls back.
type Updater struct {
	cfg Config
	mu  sync.Mutex // one check or apply at a time; guards the state file
}

// Reason says why an update was refused, as a code the faces word
// (app/i18n keys update.refused.<reason>).
type Reason string

// Reasons.
const (
	ReasonSignature Reason = "signature" // a signature does not verify
	ReasonRetired   Reason = "retired"   // signed by a key that was retired
	ReasonUntrusted Reason = "untrusted" // signed by no key the app trusts
	ReasonKeyChain  Reason = "key_chain" // a key list does not chain from the last
	ReasonExpired   Reason = "expired"   // the manifest's expiry has passed (freeze)
	ReasonOlder     Reason = "older"     // older than a version already verified (rollback)
	ReasonSize      Reason = "size"      // the download's declared size is not the manifest's
	ReasonTruncated Reason = "truncated" // the download ended early
	ReasonChecksum  Reason = "checksum"  // the SHA-256 is not the manifest's
	ReasonManifest  Reason = "manifest"  // a manifest for another OS, architecture or channel
	ReasonNoKeys    Reason = "no_keys"   // the broker has no key list yet
)

// Refused is the error of a refused update.
type Refused struct {
	Reason Reason
	Detail string
}

func (e *Refused) Error() string { return "update refused (" + string(e.Reason) + "): " + e.Detail }

// Is lets errors.Is(err, &Refused{Reason: r}) match on the reason.
func (e *Refused) Is(target error) bool {
	t, ok := target.(*Refused)
	return ok && t.Reason == e.Reason
}

// IsRefused reports whether err refused an update for reason r.
func IsRefused(err error, r Reason) bool { return errors.Is(err, &Refused{Reason: r}) }

// New builds an Updater.
func New(cfg Config) (*Updater, error) {
	if cfg.Source == nil || len(cfg.Roots) == 0 || cfg.StateDir == "" || cfg.Version == "" {
		return nil, errors.New("update: source, root keys, state directory and version required")
	}
	for _, r := range cfg.Roots {
		if _, err := parseKey(r); err != nil {
			return nil, fmt.Errorf("update: root key: %w", err)
		}
	}
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Exe = exe
	}
	if p, err := filepath.EvalSymlinks(cfg.Exe); err == nil {
		cfg.Exe = p
	}
	if cfg.Channel == "" {
		cfg.Channel = "stable"
	}
	if cfg.OS == "" {
		cfg.OS = runtime.GOOS
	}
	if cfg.Arch == "" {
		cfg.Arch = runtime.GOARCH
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StartDeadline == 0 {
		cfg.StartDeadline = time.Minute
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	return &Updater{cfg: cfg}, nil
}

type nopRecorder struct{}

func (nopRecorder) Record(string, map[string]string) error { return nil }

// record writes an operation-log event; a journal that fails must not
// stop an update (the journal reports its own failures).
func (u *Updater) record(event string, kv ...string) {
	f := map[string]string{"version": u.cfg.Version, "channel": u.cfg.Channel}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	_ = u.cfg.Recorder.Record(event, f)
}

// refuse records a refusal and returns it.
func (u *Updater) refuse(r Reason, detail string, kv ...string) error {
	u.record("update.refused", append([]string{"reason", string(r), "detail", detail}, kv...)...)
	return &Refused{Reason: r, Detail: detail}
}
