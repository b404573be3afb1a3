package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/csvexport"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

var oplogQueryDoc = map[string]string{
	"user": "staff ID", "device": "device ID", "department": "department name", "type": "event type, e.g. login.failed",
	"from": "start (RFC 3339 or YYYY-MM-DD, JST midnight), inclusive", "to": "end, exclusive",
	"limit": "page size (default 100, at most 1000)", "cursor": "next from the previous page", "order": "asc or desc (default)",
}

func (s *Server) oplogRoutes() []route {
	A := api.RoleAdmin
	exportDoc := map[string]string{"format": "csv (UTF-8 with BOM, for Excel) or jsonl",
		"lang": "CSV headers: ja (default) or en", "tz": "CSV times: JST (default) or UTC"}
	for k, v := range oplogQueryDoc {
		if k != "limit" && k != "cursor" && k != "order" {
			exportDoc[k] = v
		}
	}
	return []route{
		{method: "POST", path: "/v1/oplogs", role: api.RoleStaff, handle: s.uploadOplog, in: api.OplogBatch{}, out: api.OplogAck{},
			maxBody: 4 << 20,
			summary: "Upload a signed batch of this laptop's operation-log events; answers the highest stored sequence."},
		{method: "POST", path: "/v1/oplogs/evidence", role: auth.Anonymous, handle: s.uploadEvidence, in: api.OplogBatch{}, out: api.OplogAck{},
			maxBody: 4 << 20,
			summary: "A revoked laptop's last upload: a batch of its operation-log journal signed with its device key, taken without a token and only from a laptop IT revoked (for 90 days after), as evidence. Nothing else is open to it."},
		{method: "GET", path: "/admin/v1/oplogs", role: A, also: readers, handle: s.searchOplogs, out: api.OplogPage{}, query: oplogQueryDoc,
			summary: "Search operation logs by user, device, department, event type and time, newest first."},
		{method: "GET", path: "/admin/v1/oplogs/export", role: A, also: readers, handle: s.exportOplogs, query: exportDoc, stream: true,
			summary: "Export matching operation logs as CSV or JSON Lines, streamed, oldest first."},
		{method: "GET", path: "/admin/v1/oplogs/devices/{id}/timeline", role: A, also: readers, handle: s.oplogTimeline, out: api.OplogTimeline{},
			query:   map[string]string{"from": oplogQueryDoc["from"], "to": oplogQueryDoc["to"], "limit": oplogQueryDoc["limit"], "cursor": oplogQueryDoc["cursor"]},
			summary: "One laptop's events in sequence order with its findings (the lost-laptop case)."},
		{method: "GET", path: "/admin/v1/oplogs/findings", role: A, also: readers, handle: s.oplogFindings, out: api.OplogFindingList{},
			query:   map[string]string{"device": "device ID", "cursor": "next from the previous page"},
			summary: "Gaps, broken chains and conflicts found in uploaded logs."},
		{method: "GET", path: "/admin/v1/oplogs/holds", role: A, also: readers, handle: s.oplogHolds, out: api.OplogHoldList{},
			summary: "Legal holds: users and devices whose logs are never purged."},
		{method: "POST", path: "/admin/v1/oplogs/holds", role: A, handle: s.placeOplogHold, in: api.OplogHold{}, out: api.OplogHold{},
			summary: "Place a legal hold on a user or device (audited)."},
		{method: "DELETE", path: "/admin/v1/oplogs/holds/{kind}/{subject}", role: A, handle: s.releaseOplogHold,
			summary: "Release a legal hold (audited)."},
		{method: "GET", path: "/admin/v1/oplogs/config", role: A, also: readers, handle: s.oplogConfig, out: api.OplogConfig{},
			summary: "The retention period."},
		{method: "PATCH", path: "/admin/v1/oplogs/config", role: A, handle: s.setOplogConfig, in: api.OplogConfigUpdate{}, out: api.OplogConfig{},
			summary: "Change the retention period; needs a reason and is audited."},
	}
}

func (s *Server) uploadEvidence(c *call) (any, error) {
	// Before the body, as for a refresh: anyone may knock here.
	if err := s.throttle(c, s.limits.refresh, "uploads", "送信"); err != nil {
		return nil, err
	}
	var b api.OplogBatch
	if err := c.Decode(&b); err != nil {
		return nil, err
	}
	return s.oplog.IngestEvidence(c.R.Context(), b)
}

func (s *Server) uploadOplog(c *call) (any, error) {
	var b api.OplogBatch
	if err := c.Decode(&b); err != nil {
		return nil, err
	}
	return s.oplog.Ingest(c.R.Context(), c.P.DeviceID, b)
}

// jst is where the municipalities are: a bare date means that day in Japan.
var jst = time.FixedZone("JST", 9*3600)

func parseWhen(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, jst); err == nil {
		return t, nil
	}
	return time.Time{}, api.Errf(api.CodeValidation, "%s: use RFC 3339 (2026-04-01T09:00:00+09:00) or a date (2026-04-01)", name)
}

func (c *call) oplogQuery() (oplog.Query, error) {
	v := c.R.URL.Query()
	q := api.OplogQuery{User: v.Get("user"), Device: v.Get("device"), Department: v.Get("department"), Type: v.Get("type"),
		Cursor: v.Get("cursor")}
	var err error
	if q.From, err = parseWhen("from", v.Get("from")); err != nil {
		return oplog.Query{}, err
	}
	if q.To, err = parseWhen("to", v.Get("to")); err != nil {
		return oplog.Query{}, err
	}
	if l := v.Get("limit"); l != "" {
		if q.Limit, err = strconv.Atoi(l); err != nil || q.Limit < 1 {
			return oplog.Query{}, api.Err(api.CodeValidation, "limit: a positive number")
		}
	}
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		q.Asc = true
	default:
		return oplog.Query{}, api.Err(api.CodeValidation, "order: asc or desc")
	}
	return oplog.QueryFromAPI(q)
}

func (s *Server) searchOplogs(c *call) (any, error) {
	q, err := c.oplogQuery()
	if err != nil {
		return nil, err
	}
	return s.oplog.Search(c.R.Context(), q)
}

func (s *Server) exportOplogs(c *call) (any, error) {
	q, err := c.oplogQuery()
	if err != nil {
		return nil, err
	}
	format := c.R.URL.Query().Get("format")
	if format == "" {
		format = oplog.FormatCSV
	}
	o, err := csvexport.Parse(c.R.URL.Query().Get("lang"), c.R.URL.Query().Get("tz"))
	if err != nil {
		return nil, err
	}
	var ctype, ext string
	switch format {
	case oplog.FormatCSV:
		ctype, ext = "text/csv; charset=utf-8", "csv"
	case oplog.FormatJSONL:
		ctype, ext = "application/jsonl; charset=utf-8", "jsonl"
	default:
		return nil, api.Errf(api.CodeOplogFormat, "%q", format)
	}
	h := c.W.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="oplog-%s.%s"`, s.now().In(jst).Format("20060102-150405"), ext))
	c.W.WriteHeader(200)
	n, err := s.oplog.Export(c.R.Context(), q, format, o, c.W)
	if err != nil {
		// The status is out; cutting the stream short is all that is left,
		// and the client sees a truncated body.
		s.log.Warn("oplog export ended early", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	// Who took a copy of the logs is itself worth keeping.
	if err := s.audit.Record(c.R.Context(), audit.Event{Actor: c.P.User.ID, Action: "oplog.exported", Fields: map[string]string{
		"format": format, "events": strconv.Itoa(n), "query": c.R.URL.RawQuery}}); err != nil {
		s.log.Warn("audit oplog export", "err", err)
	}
	return nil, nil
}

func (s *Server) oplogTimeline(c *call) (any, error) {
	q, err := c.oplogQuery()
	if err != nil {
		return nil, err
	}
	id := c.R.PathValue("id")
	var dev api.Device
	if id == api.OplogBrokerDevice {
		dev = api.Device{ID: id, Name: "broker"}
	} else if dev, err = s.auth.Device(c.R.Context(), id); err != nil {
		return nil, err
	}
	tl, err := s.oplog.Timeline(c.R.Context(), id, q)
	if err != nil {
		return nil, err
	}
	tl.Device = dev
	return tl, nil
}

func (s *Server) oplogFindings(c *call) (any, error) {
	v := c.R.URL.Query()
	return s.oplog.Findings(c.R.Context(), v.Get("device"), v.Get("cursor"))
}

func (s *Server) oplogHolds(c *call) (any, error) { return s.oplog.Holds(c.R.Context()) }

func (s *Server) placeOplogHold(c *call) (any, error) {
	var h api.OplogHold
	if err := c.Decode(&h); err != nil {
		return nil, err
	}
	out, err := s.oplog.PlaceHold(c.R.Context(), c.P.User.ID, h)
	if err != nil {
		return nil, err
	}
	return created{out}, nil
}

func (s *Server) releaseOplogHold(c *call) (any, error) {
	return noContent, s.oplog.ReleaseHold(c.R.Context(), c.P.User.ID, c.R.PathValue("kind"), c.R.PathValue("subject"))
}

func (s *Server) oplogConfig(c *call) (any, error) { return s.oplog.Config(c.R.Context()) }

func (s *Server) setOplogConfig(c *call) (any, error) {
	var u api.OplogConfigUpdate
	if err := c.Decode(&u); err != nil {
		return nil, err
	}
	return s.oplog.SetConfig(c.R.Context(), c.P.User.ID, u)
}
