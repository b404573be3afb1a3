// Package release serves the app's self-update: the root-signed key
// lists, the releases IT publishes (binaries signed offline with a
// release key) and, per OS, architecture and channel, a short-lived
// manifest the broker signs with its online key and re-signs on a
// schedule. The trust scheme is described in docs/ARCHITECTURE.md,
// "Self-update"; the app's half is app/update.
package release

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Sentinels the store returns.
var (
	ErrNotFound = errors.New("release: not found")
	ErrConflict = errors.New("release: already exists")
)

// KeyListRecord is a key list as IT signed it.
type KeyListRecord struct {
	Serial    int
	Body      []byte // the signed JSON, byte for byte
	Signature string // minisign signature text
	AddedAt   time.Time
}

// Record is a published release; its binary is kept beside it.
type Record struct {
	api.Release
	Signature string // minisign signature of the binary
}

// Channel is IT's policy for a channel.
type Channel = api.ReleaseChannel

// SignerRecord is the broker's online key, sealed with the data
// directory's secret key.
type SignerRecord struct {
	PublicKey string // minisign public key ("RW...")
	Sealed    []byte // the sealed ed25519 seed
	CreatedAt time.Time
}

// ManifestRecord is a signed manifest as served.
type ManifestRecord struct {
	Channel, OS, Arch string
	Body              []byte
	Signature         string
	Expires           time.Time
}

// Store keeps releases. Binaries are stored with their release (in the
// database, so that a backup of the database is a backup of releases).
type Store interface {
	// AddKeyList stores a key list; ErrConflict if its serial exists.
	AddKeyList(ctx context.Context, k KeyListRecord) error
	// KeyLists returns the lists with a serial above after, in serial order.
	KeyLists(ctx context.Context, after int) ([]KeyListRecord, error)

	// AddRelease stores a release and reads its binary from body (exactly
	// r.Size bytes); ErrConflict if its ID or its channel, OS,
	// architecture and version exist.
	AddRelease(ctx context.Context, r Record, body io.Reader) error
	// Releases returns every release in publishing order (oldest first).
	Releases(ctx context.Context) ([]Record, error)
	// GetRelease returns one release; ErrNotFound.
	GetRelease(ctx context.Context, id string) (Record, error)
	// OpenRelease opens a release's binary; ErrNotFound.
	OpenRelease(ctx context.Context, id string) (io.ReadCloser, error)
	// SetRollout sets a release's rollout percentage; ErrNotFound.
	SetRollout(ctx context.Context, id string, percent int) error

	// Channels returns the channels IT has set a policy for, by name.
	Channels(ctx context.Context) ([]Channel, error)
	// PutChannel creates or replaces a channel's policy.
	PutChannel(ctx context.Context, c Channel) error

	// Signer returns the online key; ErrNotFound when none was made.
	Signer(ctx context.Context) (SignerRecord, error)
	// PutSigner creates or replaces the online key.
	PutSigner(ctx context.Context, s SignerRecord) error

	// PutManifest creates or replaces the manifest of its channel, OS and architecture.
	PutManifest(ctx context.Context, m ManifestRecord) error
	// Manifest returns one manifest; ErrNotFound.
	Manifest(ctx context.Context, channel, goos, arch string) (ManifestRecord, error)
	// Manifests returns every manifest, ordered by channel, OS, architecture.
	Manifests(ctx context.Context) ([]ManifestRecord, error)
}
