package api

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"time"
)

// UploadOplog sends a signed batch of the caller's device's events.
func (c *Client) UploadOplog(ctx context.Context, b OplogBatch) (*OplogAck, error) {
	var out OplogAck
	if err := c.Do(ctx, "POST", "/v1/oplogs", b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadEvidence sends a revoked laptop's signed batch without a token:
// the broker takes it as evidence, and nothing else, from such a laptop.
func (c *Client) UploadEvidence(ctx context.Context, b OplogBatch) (*OplogAck, error) {
	var out OplogAck
	if err := c.do(ctx, "POST", "/v1/oplogs/evidence", b, &out, ""); err != nil { // no token: it has none
		return nil, err
	}
	return &out, nil
}

// OplogQuery filters a search. Zero values do not filter.
type OplogQuery struct {
	User, Device, Department, Type string
	From, To                       time.Time // [From, To)
	Limit                          int
	Cursor                         string
	Asc                            bool // oldest first (default newest first)
}

// Values encodes the query as URL parameters.
func (q OplogQuery) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("user", q.User)
	set("device", q.Device)
	set("department", q.Department)
	set("type", q.Type)
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	set("cursor", q.Cursor)
	if q.Asc {
		v.Set("order", "asc")
	}
	return v
}

func withQuery(p string, v url.Values) string {
	if len(v) == 0 {
		return p
	}
	return p + "?" + v.Encode()
}

// SearchOplogs returns one page of stored events (admin).
func (c *Client) SearchOplogs(ctx context.Context, q OplogQuery) (*OplogPage, error) {
	var out OplogPage
	return &out, c.Do(ctx, "GET", withQuery("/admin/v1/oplogs", q.Values()), nil, &out)
}

// ExportOplogs streams every matching event to w as format "csv" (UTF-8
// with BOM, for Excel) or "jsonl" (admin).
func (c *Client) ExportOplogs(ctx context.Context, q OplogQuery, format string, w io.Writer) error {
	return c.ExportOplogsIn(ctx, q, format, "", "", w)
}

// ExportOplogsIn is ExportOplogs with the CSV's header language (ja, the
// default, or en) and time zone (JST, the default, or UTC).
func (c *Client) ExportOplogsIn(ctx context.Context, q OplogQuery, format, lang, tz string, w io.Writer) error {
	v := q.Values()
	v.Del("limit")
	v.Del("cursor")
	v.Set("format", format)
	if lang != "" {
		v.Set("lang", lang)
	}
	if tz != "" {
		v.Set("tz", tz)
	}
	return c.Do(ctx, "GET", withQuery("/admin/v1/oplogs/export", v), nil, w)
}

// OplogTimeline returns one device's events in sequence order (admin).
func (c *Client) OplogTimeline(ctx context.Context, deviceID string, q OplogQuery) (*OplogTimeline, error) {
	var out OplogTimeline
	v := q.Values()
	v.Del("device")
	return &out, c.Do(ctx, "GET", withQuery("/admin/v1/oplogs/devices/"+url.PathEscape(deviceID)+"/timeline", v), nil, &out)
}

// OplogFindings lists gaps and broken chains, optionally of one device (admin).
func (c *Client) OplogFindings(ctx context.Context, deviceID, cursor string) (*OplogFindingList, error) {
	var out OplogFindingList
	v := url.Values{}
	if deviceID != "" {
		v.Set("device", deviceID)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	return &out, c.Do(ctx, "GET", withQuery("/admin/v1/oplogs/findings", v), nil, &out)
}

// OplogHolds lists legal holds (admin).
func (c *Client) OplogHolds(ctx context.Context) (*OplogHoldList, error) {
	var out OplogHoldList
	return &out, c.Do(ctx, "GET", "/admin/v1/oplogs/holds", nil, &out)
}

// PlaceOplogHold stops purging for a user or device (admin).
func (c *Client) PlaceOplogHold(ctx context.Context, h OplogHold) (*OplogHold, error) {
	var out OplogHold
	return &out, c.Do(ctx, "POST", "/admin/v1/oplogs/holds", h, &out)
}

// ReleaseOplogHold removes a legal hold (admin).
func (c *Client) ReleaseOplogHold(ctx context.Context, kind, subject string) error {
	return c.Do(ctx, "DELETE", "/admin/v1/oplogs/holds/"+url.PathEscape(kind)+"/"+url.PathEscape(subject), nil, nil)
}

// OplogConfig returns the retention setting (admin).
func (c *Client) OplogConfig(ctx context.Context) (*OplogConfig, error) {
	var out OplogConfig
	return &out, c.Do(ctx, "GET", "/admin/v1/oplogs/config", nil, &out)
}

// SetOplogConfig changes the retention setting (admin; audited).
func (c *Client) SetOplogConfig(ctx context.Context, u OplogConfigUpdate) (*OplogConfig, error) {
	var out OplogConfig
	return &out, c.Do(ctx, "PATCH", "/admin/v1/oplogs/config", u, &out)
}
