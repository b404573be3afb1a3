package release

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"time"

	"aead.dev/minisign"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// ManifestTTL is how long a signed manifest is valid. A few days: long
// enough that a broker down over a weekend does not strand laptops,
// short enough that a replayed manifest cannot hold an app back long.
const ManifestTTL = 72 * time.Hour

// MaxSize bounds a published binary.
const MaxSize = 512 << 20

// Config is what a Service is built from.
type Config struct {
	Store     Store
	Audit     audit.Recorder
	Log       *slog.Logger
	Now       func() time.Time
	SecretKey []byte // seals the online key
}

// Service is the release domain.
type Service struct {
	st    Store
	audit audit.Recorder
	log   *slog.Logger
	now   func() time.Time
	key   []byte
}

// New builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Audit == nil {
		return nil, errors.New("release: store and audit recorder required")
	}
	if _, err := newAEAD(cfg.SecretKey); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: cfg.Store, audit: cfg.Audit, log: cfg.Log, now: cfg.Now, key: cfg.SecretKey}, nil
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	osOK   = map[string]bool{"linux": true, "windows": true, "darwin": true}
	archOK = map[string]bool{"amd64": true, "arm64": true}
)

func refused(format string, a ...any) error {
	return api.Errf(api.CodeReleaseRefused, format, a...)
}

// InitOnlineKey makes a new online key and returns its public half,
// which IT adds to the next key list. Until a list names it, manifests
// cannot be signed.
func (s *Service) InitOnlineKey(ctx context.Context, actor string) (string, error) {
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	pub, _, err := minisign.GenerateKey(bytes.NewReader(seed))
	if err != nil {
		return "", err
	}
	sealed, err := sealSeed(s.key, seed)
	if err != nil {
		return "", err
	}
	if err := s.st.PutSigner(ctx, SignerRecord{PublicKey: pub.String(), Sealed: sealed, CreatedAt: s.now()}); err != nil {
		return "", err
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.release_online_key",
		Target: KeyID(pub.ID())}); err != nil {
		return "", err
	}
	return pub.String(), nil
}

// OnlineKey returns the online key's public half ("" when none).
func (s *Service) OnlineKey(ctx context.Context) (string, error) {
	rec, err := s.st.Signer(ctx)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return rec.PublicKey, err
}

// trust is the newest key list with every key ever retired.
type trust struct {
	list    api.KeyList
	retired map[string]bool
}

func (s *Service) trust(ctx context.Context) (trust, error) {
	lists, err := s.st.KeyLists(ctx, 0)
	if err != nil {
		return trust{}, err
	}
	t := trust{retired: map[string]bool{}}
	for _, l := range lists {
		var kl api.KeyList
		if err := json.Unmarshal(l.Body, &kl); err != nil {
			return trust{}, fmt.Errorf("key list %d: %w", l.Serial, err)
		}
		for _, r := range kl.Retired {
			if k, err := ParseKey(r); err == nil {
				t.retired[k.String()] = true
			}
		}
		t.list = kl
	}
	return t, nil
}

// AddKeyList stores a key list IT signed with a root key. It must carry
// the next serial and be signed by a root key of the list before it (the
// first: by one of its own roots, which the app has built in), and must
// not name a retired key: the same checks the app makes.
func (s *Service) AddKeyList(ctx context.Context, actor string, body []byte, sig string) (api.KeyList, error) {
	var kl api.KeyList
	if err := json.Unmarshal(body, &kl); err != nil {
		return kl, api.Errf(api.CodeKeyListRefused, "not a key list: %v", err)
	}
	t, err := s.trust(ctx)
	if err != nil {
		return kl, err
	}
	if kl.Serial != t.list.Serial+1 {
		return kl, api.Errf(api.CodeKeyListRefused, "serial %d, want %d", kl.Serial, t.list.Serial+1)
	}
	signers := t.list.Roots
	if kl.Serial == 1 {
		signers = kl.Roots
	}
	if _, ok := verifyWith(signers, t.retired, body, sig); !ok {
		return kl, api.Errf(api.CodeKeyListRefused, "not signed by a root key of key list %d", t.list.Serial)
	}
	for _, r := range kl.Retired {
		if k, err := ParseKey(r); err == nil {
			t.retired[k.String()] = true
		}
	}
	if len(kl.Roots) == 0 {
		return kl, api.Errf(api.CodeKeyListRefused, "no root key: nothing could sign the next list")
	}
	for _, group := range [][]string{kl.Roots, kl.Release, kl.Online} {
		for _, ks := range group {
			k, err := ParseKey(ks)
			if err != nil {
				return kl, api.Errf(api.CodeKeyListRefused, "key %q: %v", ks, err)
			}
			if t.retired[k.String()] {
				return kl, api.Errf(api.CodeKeyListRefused, "key %s is retired", KeyID(k.ID()))
			}
		}
	}
	if err := s.st.AddKeyList(ctx, KeyListRecord{Serial: kl.Serial, Body: body, Signature: sig, AddedAt: s.now()}); err != nil {
		if errors.Is(err, ErrConflict) {
			return kl, api.Errf(api.CodeKeyListRefused, "serial %d exists", kl.Serial)
		}
		return kl, err
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.release_keys_added",
		Target: strconv.Itoa(kl.Serial), Fields: map[string]string{"retired": strconv.Itoa(len(kl.Retired))}}); err != nil {
		return kl, err
	}
	// Manifests signed under the old list may name a key just retired.
	if _, err := s.SignManifests(ctx); err != nil && api.AsError(err) == nil {
		return kl, err
	}
	return kl, nil
}

// KeyChain returns the key lists after serial `after`.
func (s *Service) KeyChain(ctx context.Context, after int) (api.KeyListChain, error) {
	lists, err := s.st.KeyLists(ctx, after)
	if err != nil {
		return api.KeyListChain{}, err
	}
	out := api.KeyListChain{Lists: []api.SignedDoc{}}
	for _, l := range lists {
		out.Lists = append(out.Lists, api.SignedDoc{Body: l.Body, Signature: l.Signature})
	}
	return out, nil
}

// PublishRequest describes a binary IT publishes.
type PublishRequest struct {
	Version, OS, Arch, Channel string
	Rollout                    int    // percent of devices offered it at once
	Signature                  string // the .minisig text made with a release key
}

// Publish stores a release after checking its signature with a release
// key of the current key list, then re-signs the manifests. A version
// not newer than every one published on its channel, OS and
// architecture is refused: the apps would refuse it anyway.
func (s *Service) Publish(ctx context.Context, actor string, p PublishRequest, body []byte) (api.Release, error) {
	switch {
	case !api.ValidVersion(p.Version):
		return api.Release{}, api.Errf(api.CodeValidation, "version: dotted numbers, e.g. 1.4.0")
	case !osOK[p.OS]:
		return api.Release{}, api.Errf(api.CodeValidation, "os: linux, windows or darwin")
	case !archOK[p.Arch]:
		return api.Release{}, api.Errf(api.CodeValidation, "arch: amd64 or arm64")
	case !nameRE.MatchString(p.Channel):
		return api.Release{}, api.Errf(api.CodeValidation, "channel: lower-case letters, digits and -")
	case p.Rollout < 0 || p.Rollout > 100:
		return api.Release{}, api.Errf(api.CodeValidation, "rollout: 0 to 100 percent")
	case len(body) == 0 || len(body) > MaxSize:
		return api.Release{}, api.Errf(api.CodeValidation, "file: 1 byte to %d MiB", MaxSize>>20)
	}
	t, err := s.trust(ctx)
	if err != nil {
		return api.Release{}, err
	}
	// A release no manifest could offer is refused before it is stored.
	if _, err := s.signer(ctx, t); err != nil {
		return api.Release{}, err
	}
	key, ok := verifyWith(t.list.Release, t.retired, body, p.Signature)
	if !ok {
		return api.Release{}, refused("the signature does not verify with a release key of key list %d", t.list.Serial)
	}
	k, _ := ParseKey(key)
	all, err := s.st.Releases(ctx)
	if err != nil {
		return api.Release{}, err
	}
	for _, r := range all {
		if r.Channel == p.Channel && r.OS == p.OS && r.Arch == p.Arch && api.CompareVersions(r.Version, p.Version) >= 0 {
			return api.Release{}, refused("%s is published on %s/%s/%s; publish a newer version", r.Version, p.Channel, p.OS, p.Arch)
		}
	}
	sum := sha256.Sum256(body)
	rec := Record{Release: api.Release{ID: newID(), Version: p.Version, OS: p.OS, Arch: p.Arch, Channel: p.Channel,
		Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), KeyID: KeyID(k.ID()), Rollout: p.Rollout,
		PublishedAt: s.now(), PublishedBy: actor}, Signature: p.Signature}
	if err := s.st.AddRelease(ctx, rec, bytes.NewReader(body)); err != nil {
		if errors.Is(err, ErrConflict) {
			return api.Release{}, refused("%s is published", p.Version)
		}
		return api.Release{}, err
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.release_published", Target: rec.ID,
		Fields: map[string]string{"version": p.Version, "os": p.OS, "arch": p.Arch, "channel": p.Channel,
			"sha256": rec.SHA256, "rollout": strconv.Itoa(p.Rollout), "key": rec.KeyID}}); err != nil {
		return api.Release{}, err
	}
	_, err = s.SignManifests(ctx)
	return rec.Release, err
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "rel_" + hex.EncodeToString(b)
}

// SetRollout raises, lowers or halts (0) a release's rollout.
func (s *Service) SetRollout(ctx context.Context, actor, id string, percent int) (api.Release, error) {
	if percent < 0 || percent > 100 {
		return api.Release{}, api.Errf(api.CodeValidation, "percent: 0 to 100")
	}
	if err := s.st.SetRollout(ctx, id, percent); errors.Is(err, ErrNotFound) {
		return api.Release{}, api.Err(api.CodeReleaseNotFound, id)
	} else if err != nil {
		return api.Release{}, err
	}
	r, err := s.st.GetRelease(ctx, id)
	if err != nil {
		return api.Release{}, err
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.release_rollout", Target: id,
		Fields: map[string]string{"version": r.Version, "percent": strconv.Itoa(percent)}}); err != nil {
		return api.Release{}, err
	}
	_, err = s.SignManifests(ctx)
	return r.Release, err
}

// UpdateChannel sets a channel's pin (which wins over rollouts) or its
// minimum version.
func (s *Service) UpdateChannel(ctx context.Context, actor, name string, up api.ChannelUpdate) (api.ReleaseChannel, error) {
	if !nameRE.MatchString(name) {
		return api.ReleaseChannel{}, api.Errf(api.CodeValidation, "channel: lower-case letters, digits and -")
	}
	for _, v := range []*string{up.Pin, up.MinVersion} {
		if v != nil && *v != "" && !api.ValidVersion(*v) {
			return api.ReleaseChannel{}, api.Errf(api.CodeValidation, "version: dotted numbers, e.g. 1.4.0")
		}
	}
	chs, err := s.st.Channels(ctx)
	if err != nil {
		return api.ReleaseChannel{}, err
	}
	c := Channel{Name: name}
	for _, x := range chs {
		if x.Name == name {
			c = x
		}
	}
	if up.Pin != nil {
		c.Pin = *up.Pin
	}
	if up.MinVersion != nil {
		c.MinVersion = *up.MinVersion
	}
	c.UpdatedAt = s.now()
	if err := s.st.PutChannel(ctx, c); err != nil {
		return api.ReleaseChannel{}, err
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.release_channel", Target: name,
		Fields: map[string]string{"pin": c.Pin, "min_version": c.MinVersion}}); err != nil {
		return api.ReleaseChannel{}, err
	}
	_, err = s.SignManifests(ctx)
	return c, err
}

// List is what IT sees.
func (s *Service) List(ctx context.Context) (api.ReleaseList, error) {
	rs, err := s.st.Releases(ctx)
	if err != nil {
		return api.ReleaseList{}, err
	}
	chs, err := s.st.Channels(ctx)
	if err != nil {
		return api.ReleaseList{}, err
	}
	t, err := s.trust(ctx)
	if err != nil {
		return api.ReleaseList{}, err
	}
	on, err := s.OnlineKey(ctx)
	if err != nil {
		return api.ReleaseList{}, err
	}
	out := api.ReleaseList{Releases: []api.Release{}, Channels: chs, KeySerial: t.list.Serial, OnlineKey: on}
	if out.Channels == nil {
		out.Channels = []api.ReleaseChannel{}
	}
	for _, r := range rs {
		out.Releases = append(out.Releases, r.Release)
	}
	return out, nil
}

// signer returns the online key, if the newest key list names it.
func (s *Service) signer(ctx context.Context, t trust) (minisign.PrivateKey, error) {
	rec, err := s.st.Signer(ctx)
	if errors.Is(err, ErrNotFound) {
		return minisign.PrivateKey{}, api.Err(api.CodeReleaseUnavailable, "no online key")
	} else if err != nil {
		return minisign.PrivateKey{}, err
	}
	named := false
	for _, k := range t.list.Online {
		if pk, err := ParseKey(k); err == nil && pk.String() == rec.PublicKey && !t.retired[pk.String()] {
			named = true
		}
	}
	if !named {
		return minisign.PrivateKey{}, api.Errf(api.CodeReleaseUnavailable, "key list %d does not name the online key %s", t.list.Serial, rec.PublicKey)
	}
	return openSigner(s.key, rec)
}

// SignManifests builds and signs the manifest of every channel, OS and
// architecture that has a release, and returns how many it signed.
func (s *Service) SignManifests(ctx context.Context) (int, error) {
	return s.sign(ctx, func(ManifestRecord) bool { return true })
}

// Resign re-signs the manifests past half their life: the schedule the
// release.sign job keeps, so that a manifest is never close to expiry
// while the broker runs.
func (s *Service) Resign(ctx context.Context) (int, error) {
	old, err := s.st.Manifests(ctx)
	if err != nil {
		return 0, err
	}
	expires := map[[3]string]time.Time{}
	for _, m := range old {
		expires[[3]string{m.Channel, m.OS, m.Arch}] = m.Expires
	}
	return s.sign(ctx, func(m ManifestRecord) bool {
		// A group with no manifest yet (signing failed before) is due too.
		e, ok := expires[[3]string{m.Channel, m.OS, m.Arch}]
		return !ok || e.Sub(s.now()) < ManifestTTL/2
	})
}

func (s *Service) sign(ctx context.Context, want func(ManifestRecord) bool) (int, error) {
	rs, err := s.st.Releases(ctx)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	chs, err := s.st.Channels(ctx)
	if err != nil {
		return 0, err
	}
	t, err := s.trust(ctx)
	if err != nil {
		return 0, err
	}
	priv, err := s.signer(ctx, t)
	if err != nil {
		return 0, err
	}
	groups := map[[3]string][]Record{}
	for _, r := range rs {
		k := [3]string{r.Channel, r.OS, r.Arch}
		groups[k] = append(groups[k], r)
	}
	policy := map[string]Channel{}
	for _, c := range chs {
		policy[c.Name] = c
	}
	n := 0
	now := s.now()
	for k, g := range groups {
		if !want(ManifestRecord{Channel: k[0], OS: k[1], Arch: k[2]}) {
			continue
		}
		m := buildManifest(k[0], k[1], k[2], g, policy[k[0]], t)
		m.KeySerial, m.Issued, m.Expires = t.list.Serial, now, now.Add(ManifestTTL)
		body, err := json.Marshal(m)
		if err != nil {
			return n, err
		}
		sig := minisign.SignWithComments(priv, body, fmt.Sprintf("zaitaku manifest %s/%s/%s expires %s", k[0], k[1], k[2],
			m.Expires.UTC().Format(time.RFC3339)), "signature from the zaitaku broker's online key")
		if err := s.st.PutManifest(ctx, ManifestRecord{Channel: k[0], OS: k[1], Arch: k[2], Body: body,
			Signature: string(sig), Expires: m.Expires}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// buildManifest decides what one group offers: the pinned release if IT
// pinned one; otherwise the newest release not halted, to its rollout
// percentage, with the newest fully rolled-out one before it for the
// other devices. Releases signed by a key since retired are left out:
// the apps would refuse them.
func buildManifest(channel, goos, arch string, rs []Record, c Channel, t trust) api.Manifest {
	m := api.Manifest{OS: goos, Arch: arch, Channel: channel, MinVersion: c.MinVersion}
	sort.Slice(rs, func(i, j int) bool { return api.CompareVersions(rs[i].Version, rs[j].Version) > 0 })
	usable := rs[:0:0]
	for _, r := range rs {
		if _, _, ok := findKey(t.list.Release, t.retired, r.Signature); ok {
			usable = append(usable, r)
		}
	}
	target := func(r Record) *api.ReleaseTarget {
		return &api.ReleaseTarget{Version: r.Version, Size: r.Size, SHA256: r.SHA256, Signature: r.Signature,
			URL: "/v1/releases/artifacts/" + r.ID}
	}
	if c.Pin != "" {
		for _, r := range usable {
			if api.CompareVersions(r.Version, c.Pin) == 0 {
				m.Target, m.Rollout, m.Pinned = target(r), 100, true
				return m
			}
		}
	}
	for i, r := range usable {
		if r.Rollout == 0 {
			continue
		}
		m.Target, m.Rollout = target(r), r.Rollout
		if r.Rollout < 100 {
			for _, f := range usable[i+1:] {
				if f.Rollout == 100 {
					m.Fallback = target(f)
					break
				}
			}
		}
		break
	}
	return m
}

// Manifest returns the signed manifest of a channel, OS and architecture.
func (s *Service) Manifest(ctx context.Context, channel, goos, arch string) (api.SignedDoc, error) {
	m, err := s.st.Manifest(ctx, channel, goos, arch)
	if errors.Is(err, ErrNotFound) {
		return api.SignedDoc{}, api.Err(api.CodeReleaseNotFound, channel+"/"+goos+"/"+arch)
	} else if err != nil {
		return api.SignedDoc{}, err
	}
	return api.SignedDoc{Body: m.Body, Signature: m.Signature}, nil
}

// Open returns a release and its binary.
func (s *Service) Open(ctx context.Context, id string) (api.Release, io.ReadCloser, error) {
	r, err := s.st.GetRelease(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return api.Release{}, nil, api.Err(api.CodeReleaseNotFound, id)
	} else if err != nil {
		return api.Release{}, nil, err
	}
	rc, err := s.st.OpenRelease(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return api.Release{}, nil, api.Err(api.CodeReleaseNotFound, id)
	}
	return r.Release, rc, err
}
