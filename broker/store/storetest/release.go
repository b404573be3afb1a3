package storetest

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/release"
	"github.com/zaitaku/zaitaku/broker/services"
)

func newRelease(id, version string) release.Record {
	return release.Record{Release: api.Release{ID: id, Version: version, OS: "windows", Arch: "amd64", Channel: "stable",
		Size: 5, SHA256: strings.Repeat("ab", 32), KeyID: "A1B2C3D4E5F60718", Rollout: 100, PublishedAt: at(0),
		PublishedBy: "cli:it"}, Signature: "untrusted comment: x\nRUS...\ntrusted comment: y\nZZZ\n"}
}

func addRelease(t *testing.T, st services.Stores, r release.Record, body []byte) {
	t.Helper()
	r.Size = int64(len(body))
	must(t, st.Releases().AddRelease(t.Context(), r, bytes.NewReader(body)))
}

func readRelease(t *testing.T, st services.Stores, id string) []byte {
	t.Helper()
	rc, err := st.Releases().OpenRelease(t.Context(), id)
	must(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	must(t, err)
	return b
}

var releaseBehaviours = []behaviour{
	{"key lists come back in serial order after the one asked for; a taken serial is a conflict", func(t *testing.T, st services.Stores) {
		rs := st.Releases()
		for _, n := range []int{2, 1, 3} {
			must(t, rs.AddKeyList(t.Context(), release.KeyListRecord{Serial: n, Body: []byte{'{', byte('0' + n), '}'},
				Signature: "sig", AddedAt: subMS}))
		}
		wantErr(t, "second serial 2", rs.AddKeyList(t.Context(), release.KeyListRecord{Serial: 2, Body: []byte("x"), Signature: "s"}),
			release.ErrConflict)
		got, err := rs.KeyLists(t.Context(), 1)
		must(t, err)
		same(t, "after 1", got, []release.KeyListRecord{
			{Serial: 2, Body: []byte("{2}"), Signature: "sig", AddedAt: trunc(subMS)},
			{Serial: 3, Body: []byte("{3}"), Signature: "sig", AddedAt: trunc(subMS)}})
	}},
	{"a release keeps every field and its binary byte for byte, across chunks", func(t *testing.T, st services.Stores) {
		// Over two megabytes, so that an engine storing in pieces keeps
		// their order and the short last one.
		body := bytes.Repeat([]byte("zaitaku-"), 300_000)
		body = append(body, 1, 2, 3)
		r := newRelease("rel_1", "1.2.0")
		r.PublishedAt = subMS
		addRelease(t, st, r, body)
		got, err := st.Releases().GetRelease(t.Context(), "rel_1")
		must(t, err)
		want := r
		want.Size, want.PublishedAt = int64(len(body)), trunc(subMS)
		same(t, "release", got, want)
		if b := readRelease(t, st, "rel_1"); !bytes.Equal(b, body) {
			t.Fatalf("binary: %d bytes back, want %d, equal %v", len(b), len(body), bytes.Equal(b, body))
		}
	}},
	{"the same version on the same channel, OS and architecture is a conflict; another architecture is not", func(t *testing.T, st services.Stores) {
		addRelease(t, st, newRelease("rel_1", "1.2.0"), []byte("first"))
		wantErr(t, "same version", st.Releases().AddRelease(t.Context(), newRelease("rel_2", "1.2.0"), strings.NewReader("again")),
			release.ErrConflict)
		arm := newRelease("rel_3", "1.2.0")
		arm.Arch = "arm64"
		addRelease(t, st, arm, []byte("arm64"))
		if b := readRelease(t, st, "rel_1"); string(b) != "first" {
			t.Fatalf("first binary = %q", b)
		}
		if _, err := st.Releases().GetRelease(t.Context(), "rel_2"); err == nil {
			t.Fatal("the refused release was stored")
		}
	}},
	{"releases list in publishing order; unknown ones are not found", func(t *testing.T, st services.Stores) {
		a, b := newRelease("rel_b", "1.0.0"), newRelease("rel_a", "2.0.0")
		a.PublishedAt, b.PublishedAt = at(1), at(2)
		addRelease(t, st, b, []byte("b"))
		addRelease(t, st, a, []byte("a"))
		got, err := st.Releases().Releases(t.Context())
		must(t, err)
		if len(got) != 2 || got[0].ID != "rel_b" || got[1].ID != "rel_a" {
			t.Fatalf("order: %+v", got)
		}
		_, err = st.Releases().GetRelease(t.Context(), "rel_none")
		wantErr(t, "get unknown", err, release.ErrNotFound)
		_, err = st.Releases().OpenRelease(t.Context(), "rel_none")
		wantErr(t, "open unknown", err, release.ErrNotFound)
		wantErr(t, "rollout unknown", st.Releases().SetRollout(t.Context(), "rel_none", 5), release.ErrNotFound)
		must(t, st.Releases().SetRollout(t.Context(), "rel_a", 0))
		if r, _ := st.Releases().GetRelease(t.Context(), "rel_a"); r.Rollout != 0 {
			t.Fatalf("rollout = %d, want 0", r.Rollout)
		}
	}},
	{"channels, the online key and manifests are replaced in place", func(t *testing.T, st services.Stores) {
		rs := st.Releases()
		_, err := rs.Signer(t.Context())
		wantErr(t, "no signer", err, release.ErrNotFound)
		must(t, rs.PutSigner(t.Context(), release.SignerRecord{PublicKey: "RWold", Sealed: key(1), CreatedAt: at(0)}))
		must(t, rs.PutSigner(t.Context(), release.SignerRecord{PublicKey: "RWnew", Sealed: key(2), CreatedAt: subMS}))
		sg, err := rs.Signer(t.Context())
		must(t, err)
		same(t, "signer", sg, release.SignerRecord{PublicKey: "RWnew", Sealed: key(2), CreatedAt: trunc(subMS)})

		must(t, rs.PutChannel(t.Context(), release.Channel{Name: "stable", Pin: "1.0.0", UpdatedAt: at(1)}))
		must(t, rs.PutChannel(t.Context(), release.Channel{Name: "beta", MinVersion: "0.9.0", UpdatedAt: at(1)}))
		must(t, rs.PutChannel(t.Context(), release.Channel{Name: "stable", MinVersion: "1.1.0", UpdatedAt: at(2)}))
		chs, err := rs.Channels(t.Context())
		must(t, err)
		same(t, "channels", chs, []release.Channel{{Name: "beta", MinVersion: "0.9.0", UpdatedAt: at(1)},
			{Name: "stable", MinVersion: "1.1.0", UpdatedAt: at(2)}})

		_, err = rs.Manifest(t.Context(), "stable", "linux", "amd64")
		wantErr(t, "no manifest", err, release.ErrNotFound)
		for _, m := range []release.ManifestRecord{
			{Channel: "stable", OS: "windows", Arch: "amd64", Body: []byte("w1"), Signature: "s1", Expires: at(10)},
			{Channel: "stable", OS: "linux", Arch: "amd64", Body: []byte("l1"), Signature: "s1", Expires: at(10)},
			{Channel: "stable", OS: "windows", Arch: "amd64", Body: []byte("w2"), Signature: "s2", Expires: subMS},
		} {
			must(t, rs.PutManifest(t.Context(), m))
		}
		got, err := rs.Manifest(t.Context(), "stable", "windows", "amd64")
		must(t, err)
		same(t, "manifest", got, release.ManifestRecord{Channel: "stable", OS: "windows", Arch: "amd64", Body: []byte("w2"),
			Signature: "s2", Expires: trunc(subMS)})
		all, err := rs.Manifests(t.Context())
		must(t, err)
		if len(all) != 2 || all[0].OS != "linux" || all[1].OS != "windows" {
			t.Fatalf("manifests: %+v", all)
		}
	}},
}
