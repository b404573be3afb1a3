package release_test

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/release"
)

type key struct {
	pub  minisign.PublicKey
	priv minisign.PrivateKey
}

func newKey(t *testing.T) key {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key{pub, priv}
}

func (k key) String() string       { return k.pub.String() }
func (k key) sign(b []byte) string { return string(minisign.Sign(k.priv, b)) }

func code(err error) api.Code {
	if e := api.AsError(err); e != nil {
		return e.Code
	}
	return ""
}

func keyList(t *testing.T, kl api.KeyList) []byte {
	t.Helper()
	b, err := json.Marshal(kl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReleaseRefusals: what the broker refuses when IT adds key lists and
// publishes, so that a mistake shows at the desk rather than on hundreds
// of laptops.
func TestReleaseRefusals(t *testing.T) {
	b := brokertest.Start(t)
	s := b.Services.Releases
	ctx := t.Context()
	root, rel, other := newKey(t), newKey(t), newKey(t)
	body := []byte("binary 2.0.0")
	pub := func(version string, sig string) error {
		_, err := s.Publish(ctx, "cli:it", release.PublishRequest{Version: version, OS: "windows", Arch: "amd64",
			Channel: "stable", Rollout: 100, Signature: sig}, body)
		return err
	}
	if err := pub("2.0.0", rel.sign(body)); code(err) != api.CodeReleaseUnavailable {
		t.Fatalf("publish before any online key: %v", err)
	}
	online, err := s.InitOnlineKey(ctx, "cli:it")
	if err != nil {
		t.Fatal(err)
	}
	l1 := keyList(t, api.KeyList{Serial: 1, Roots: []string{root.String()}, Release: []string{rel.String()}})
	for _, tc := range []struct {
		name string
		body []byte
		sig  string
	}{
		{"not the next serial", keyList(t, api.KeyList{Serial: 2, Roots: []string{root.String()}}), ""},
		{"signed by a key it does not name", l1, other.sign(l1)},
		{"unsigned", l1, ""},
		{"no root", keyList(t, api.KeyList{Serial: 1, Release: []string{rel.String()}}), ""},
	} {
		sig := tc.sig
		if sig == "" {
			sig = root.sign(tc.body)
			if tc.name == "unsigned" {
				sig = ""
			}
		}
		if _, err := s.AddKeyList(ctx, "cli:it", tc.body, sig); code(err) != api.CodeKeyListRefused {
			t.Errorf("%s: %v, want %s", tc.name, err, api.CodeKeyListRefused)
		}
	}
	if _, err := s.AddKeyList(ctx, "cli:it", l1, root.sign(l1)); err != nil {
		t.Fatal(err)
	}
	// List 1 does not name the online key: no manifest could offer a release.
	if err := pub("2.0.0", rel.sign(body)); code(err) != api.CodeReleaseUnavailable {
		t.Fatalf("publish with the online key unnamed: %v", err)
	}
	l2 := keyList(t, api.KeyList{Serial: 2, Roots: []string{root.String()}, Release: []string{rel.String()}, Online: []string{online}})
	if _, err := s.AddKeyList(ctx, "cli:it", l2, root.sign(l2)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, version, sig string
		want               api.Code
	}{
		{"signed by another key", "2.0.0", other.sign(body), api.CodeReleaseRefused},
		{"signature of another file", "2.0.0", rel.sign([]byte("other")), api.CodeReleaseRefused},
		{"unsigned", "2.0.0", "", api.CodeReleaseRefused},
		{"not a version", "two", rel.sign(body), api.CodeValidation},
	} {
		if err := pub(tc.version, tc.sig); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if err := pub("2.0.0", rel.sign(body)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SignManifests(ctx); err != nil || n != 1 {
		t.Fatalf("sign: %d %v", n, err)
	}
	if err := pub("2.0.0", rel.sign(body)); code(err) != api.CodeReleaseRefused {
		t.Fatalf("the same version again: %v", err)
	}
	if err := pub("1.9.0", rel.sign(body)); code(err) != api.CodeReleaseRefused {
		t.Fatalf("an older version: %v", err)
	}
}

// TestReleaseServing: through the broker's HTTP face, an app reads the
// key lists, the manifest and the binary; IT's rollout and pin change the
// manifest at once; the release.sign job's schedule re-signs only what is
// past half its life.
func TestReleaseServing(t *testing.T) {
	b := brokertest.Start(t)
	s := b.Services.Releases
	ctx := t.Context()
	root, rel := newKey(t), newKey(t)
	online, err := s.InitOnlineKey(ctx, "cli:it")
	if err != nil {
		t.Fatal(err)
	}
	l1 := keyList(t, api.KeyList{Serial: 1, Roots: []string{root.String()}, Release: []string{rel.String()}, Online: []string{online}})
	if _, err := s.AddKeyList(ctx, "cli:it", l1, root.sign(l1)); err != nil {
		t.Fatal(err)
	}
	app := b.Client(t)
	if _, err := app.ReleaseManifest(ctx, "stable", "linux", "amd64"); code(err) != api.CodeReleaseNotFound {
		t.Fatalf("manifest before any release: %v", err)
	}
	var ids []string
	for _, v := range []string{"1.0.0", "1.1.0"} {
		body := []byte("binary " + v)
		r, err := s.Publish(ctx, "cli:it", release.PublishRequest{Version: v, OS: "linux", Arch: "amd64", Channel: "stable",
			Rollout: 100, Signature: rel.sign(body)}, body)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	chain, err := app.ReleaseKeys(ctx, 0)
	if err != nil || len(chain.Lists) != 1 || string(chain.Lists[0].Body) != string(l1) {
		t.Fatalf("keys: %+v %v", chain, err)
	}
	if chain, err := app.ReleaseKeys(ctx, 1); err != nil || len(chain.Lists) != 0 {
		t.Fatalf("keys after 1: %+v %v", chain, err)
	}
	manifest := func() api.Manifest {
		t.Helper()
		doc, err := app.ReleaseManifest(ctx, "stable", "linux", "amd64")
		if err != nil {
			t.Fatal(err)
		}
		pk, _ := release.ParseKey(online)
		if !minisign.Verify(pk, doc.Body, []byte(doc.Signature)) {
			t.Fatal("the manifest does not verify with the online key")
		}
		var m api.Manifest
		if err := json.Unmarshal(doc.Body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := manifest()
	if m.Target == nil || m.Target.Version != "1.1.0" || m.Rollout != 100 || m.Fallback != nil || m.KeySerial != 1 ||
		!m.Expires.Equal(b.Now().Add(release.ManifestTTL)) {
		t.Fatalf("manifest: %+v", m)
	}
	rc, size, err := app.DownloadRelease(ctx, m.Target.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "binary 1.1.0" || size != int64(len(got)) {
		t.Fatalf("download: %q, declared %d", got, size)
	}

	admin := b.Login(t, b.CreateUser(t, "it-admin", api.RoleAdmin))
	if _, err := admin.SetRollout(ctx, ids[1], 20); err != nil {
		t.Fatal(err)
	}
	if m := manifest(); m.Rollout != 20 || m.Fallback == nil || m.Fallback.Version != "1.0.0" {
		t.Fatalf("after rollout 20%%: %+v", m)
	}
	pin := "1.0.0"
	if _, err := admin.UpdateReleaseChannel(ctx, "stable", api.ChannelUpdate{Pin: &pin}); err != nil {
		t.Fatal(err)
	}
	if m := manifest(); !m.Pinned || m.Target.Version != "1.0.0" {
		t.Fatalf("after pin: %+v", m)
	}
	if _, err := admin.SetRollout(ctx, "rel_none", 5); code(err) != api.CodeReleaseNotFound {
		t.Fatalf("rollout of an unknown release: %v", err)
	}
	l, err := admin.Releases(ctx)
	if err != nil || len(l.Releases) != 2 || l.OnlineKey != online || l.KeySerial != 1 || len(l.Channels) != 1 {
		t.Fatalf("list: %+v %v", l, err)
	}

	if n, err := s.Resign(ctx); err != nil || n != 0 {
		t.Fatalf("resign of fresh manifests: %d %v", n, err)
	}
	b.Clock.Advance(release.ManifestTTL/2 + time.Minute)
	if n, err := s.Resign(ctx); err != nil || n != 1 {
		t.Fatalf("resign past half life: %d %v", n, err)
	}
	if m := manifest(); !m.Expires.Equal(b.Now().Add(release.ManifestTTL)) {
		t.Fatalf("re-signed manifest expires %v", m.Expires)
	}
}
