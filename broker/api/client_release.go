package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// ReleaseKeys returns the key lists after serial `after`, in order.
func (c *Client) ReleaseKeys(ctx context.Context, after int) (*KeyListChain, error) {
	var out KeyListChain
	return &out, c.Do(ctx, "GET", "/v1/releases/keys?after="+strconv.Itoa(after), nil, &out)
}

// ReleaseManifest returns the signed manifest for a channel, OS and architecture.
func (c *Client) ReleaseManifest(ctx context.Context, channel, goos, arch string) (*SignedDoc, error) {
	var out SignedDoc
	p := "/v1/releases/manifests/" + url.PathEscape(channel) + "/" + url.PathEscape(goos) + "/" + url.PathEscape(arch)
	return &out, c.Do(ctx, "GET", p, nil, &out)
}

// DownloadRelease opens a release's binary (a path from
// ReleaseTarget.URL) and returns its body and the length the broker
// declared (-1 when it declared none).
func (c *Client) DownloadRelease(ctx context.Context, path string) (io.ReadCloser, int64, error) {
	req, err := c.NewRequest(ctx, "GET", path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, 0, DecodeError(resp)
	}
	return resp.Body, resp.ContentLength, nil
}

// Releases lists releases, channels and keys (IT).
func (c *Client) Releases(ctx context.Context) (*ReleaseList, error) {
	var out ReleaseList
	return &out, c.Do(ctx, "GET", "/admin/v1/releases", nil, &out)
}

// SetRollout sets a release's rollout percentage (IT).
func (c *Client) SetRollout(ctx context.Context, id string, percent int) (*Release, error) {
	var out Release
	return &out, c.Do(ctx, "PUT", "/admin/v1/releases/"+url.PathEscape(id)+"/rollout", RolloutRequest{Percent: percent}, &out)
}

// UpdateReleaseChannel sets a channel's pin or minimum version (IT).
func (c *Client) UpdateReleaseChannel(ctx context.Context, name string, up ChannelUpdate) (*ReleaseChannel, error) {
	var out ReleaseChannel
	return &out, c.Do(ctx, "PATCH", "/admin/v1/release-channels/"+url.PathEscape(name), up, &out)
}
