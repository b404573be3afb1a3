package server

import (
	"io"
	"net/http"
	"strconv"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// releaseRoutes serve the app's self-update. The app-facing three are
// anonymous on purpose: the app checks before sign-in (an app below the
// minimum version is told to update before it may connect), nothing in
// them is secret, and the app trusts none of it for having come over
// TLS — each document is verified with keys that chain to the root keys
// built into the app.
func (s *Server) releaseRoutes() []route {
	A, N := api.RoleAdmin, auth.Anonymous
	return []route{
		{method: "GET", path: "/v1/releases/keys", role: N, handle: s.releaseKeys, out: api.KeyListChain{},
			query:   map[string]string{"after": "the serial of the key list the app holds (0: none)"},
			summary: "Root-signed key lists after the app's, in order."},
		{method: "GET", path: "/v1/releases/manifests/{channel}/{os}/{arch}", role: N, handle: s.releaseManifest, out: api.SignedDoc{},
			summary: "The signed, short-lived manifest of a channel, OS and architecture."},
		{method: "GET", path: "/v1/releases/artifacts/{id}", role: N, handle: s.releaseArtifact, stream: true,
			summary: "A release's binary (verify it with the manifest's size, SHA-256 and signature)."},
		{method: "GET", path: "/admin/v1/releases", role: A, also: readers, handle: s.listReleases, out: api.ReleaseList{},
			summary: "Releases, channel policies, the key list serial and the online key."},
		{method: "PUT", path: "/admin/v1/releases/{id}/rollout", role: A, handle: s.setRollout, in: api.RolloutRequest{}, out: api.Release{},
			summary: "Raise, lower or halt (0) a release's staged rollout."},
		{method: "PATCH", path: "/admin/v1/release-channels/{name}", role: A, handle: s.updateReleaseChannel,
			in: api.ChannelUpdate{}, out: api.ReleaseChannel{},
			summary: "Pin a channel to a version, or set the minimum version an app needs to connect."},
	}
}

func (s *Server) releaseKeys(c *call) (any, error) {
	after := 0
	if v := c.R.URL.Query().Get("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, api.Errf(api.CodeValidation, "after: a key list serial")
		}
		after = n
	}
	return s.rel.KeyChain(c.R.Context(), after)
}

func (s *Server) releaseManifest(c *call) (any, error) {
	return s.rel.Manifest(c.R.Context(), c.R.PathValue("channel"), c.R.PathValue("os"), c.R.PathValue("arch"))
}

func (s *Server) releaseArtifact(c *call) (any, error) {
	r, body, err := s.rel.Open(c.R.Context(), c.R.PathValue("id"))
	if err != nil {
		return nil, err
	}
	defer body.Close()
	h := c.W.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(r.Size, 10))
	h.Set("Cache-Control", "no-store")
	c.W.WriteHeader(http.StatusOK)
	if n, err := io.Copy(c.W, body); err != nil || n != r.Size {
		// The status is out: cutting the connection is what tells the app
		// the download is short.
		s.log.Warn("release download ended early", "release", r.ID, "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil, nil
}

func (s *Server) listReleases(c *call) (any, error) {
	return s.rel.List(c.R.Context())
}

func (s *Server) setRollout(c *call) (any, error) {
	var req api.RolloutRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.rel.SetRollout(c.R.Context(), c.P.User.ID, c.R.PathValue("id"), req.Percent)
}

func (s *Server) updateReleaseChannel(c *call) (any, error) {
	var req api.ChannelUpdate
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.rel.UpdateChannel(c.R.Context(), c.P.User.ID, c.R.PathValue("name"), req)
}
