package oplog

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/csvexport"
)

// Query selects stored events. Pagination is by keyset: After holds the
// last row of the previous page, so deep pages cost what the first does.
type Query struct {
	User, Device, Department, Type string
	From, To                       int64 // unix ms, [From, To); 0 = open
	Asc                            bool
	// BySeq orders one device's events by sequence (the timeline); it
	// needs Device.
	BySeq bool
	After *Cursor
	Limit int
}

// Cursor is the position after which a page starts.
type Cursor struct{ K1, K2 int64 } // (at, id), or (seq, 0) when BySeq

// Page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.K1, 10) + "." + strconv.FormatInt(c.K2, 10)))
}

// ParseCursor decodes a cursor from a previous page ("" is the first page).
func ParseCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, api.Err(api.CodeOplogCursor)
	}
	a, z, ok := strings.Cut(string(b), ".")
	k1, err1 := strconv.ParseInt(a, 10, 64)
	k2, err2 := strconv.ParseInt(z, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, api.Err(api.CodeOplogCursor)
	}
	return &Cursor{k1, k2}, nil
}

// QueryFromAPI checks and converts the wire query.
func QueryFromAPI(q api.OplogQuery) (Query, error) {
	out := Query{User: q.User, Device: q.Device, Department: q.Department, Type: q.Type, Asc: q.Asc, Limit: q.Limit}
	if !q.From.IsZero() {
		out.From = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		out.To = q.To.UnixMilli()
	}
	if out.From != 0 && out.To != 0 && out.To <= out.From {
		return out, api.Err(api.CodeValidation, "to: must be after from")
	}
	if out.Limit <= 0 {
		out.Limit = DefaultLimit
	}
	if out.Limit > MaxLimit {
		return out, api.Errf(api.CodeValidation, "limit: at most %d", MaxLimit)
	}
	c, err := ParseCursor(q.Cursor)
	if err != nil {
		return out, err
	}
	out.After = c
	return out, nil
}

// ToRecord converts a stored row for IT.
func ToRecord(r Row) api.OplogRecord {
	rec := api.OplogRecord{ID: r.ID, DeviceID: r.DeviceID, Seq: r.Seq, At: time.UnixMilli(r.At).UTC(), UserID: r.UserID,
		Department: r.Department, Type: r.Type, Target: r.Target, Hash: r.Hash, Prev: r.Prev,
		ReceivedAt: time.UnixMilli(r.ReceivedAt).UTC()}
	if r.Fields != "" {
		_ = json.Unmarshal([]byte(r.Fields), &rec.Fields)
	}
	return rec
}

func nextCursor(q Query, rows []Row) string {
	if len(rows) < q.Limit || len(rows) == 0 {
		return ""
	}
	last := rows[len(rows)-1]
	if q.BySeq {
		return Cursor{last.Seq, 0}.String()
	}
	return Cursor{last.At, last.ID}.String()
}

// Search returns one page of events.
func (s *Service) Search(ctx context.Context, q Query) (api.OplogPage, error) {
	rows, err := s.st.Search(ctx, q)
	if err != nil {
		return api.OplogPage{}, fmt.Errorf("search oplog: %w", err)
	}
	page := api.OplogPage{Events: make([]api.OplogRecord, len(rows)), Next: nextCursor(q, rows)}
	for i, r := range rows {
		page.Events[i] = ToRecord(r)
	}
	return page, nil
}

// Timeline returns a device's events by sequence with its findings.
func (s *Service) Timeline(ctx context.Context, deviceID string, q Query) (api.OplogTimeline, error) {
	q.Device, q.BySeq, q.Asc = deviceID, true, true
	page, err := s.Search(ctx, q)
	if err != nil {
		return api.OplogTimeline{}, err
	}
	fs, err := s.st.Findings(ctx, deviceID, 0, MaxLimit)
	if err != nil {
		return api.OplogTimeline{}, fmt.Errorf("findings of %s: %w", deviceID, err)
	}
	if fs == nil {
		fs = []api.OplogFinding{}
	}
	return api.OplogTimeline{Events: page.Events, Findings: fs, Next: page.Next}, nil
}

// Findings lists findings, oldest first, optionally of one device.
func (s *Service) Findings(ctx context.Context, deviceID, cursor string) (api.OplogFindingList, error) {
	var after int64
	if cursor != "" {
		c, err := ParseCursor(cursor)
		if err != nil {
			return api.OplogFindingList{}, err
		}
		after = c.K2
	}
	fs, err := s.st.Findings(ctx, deviceID, after, DefaultLimit)
	if err != nil {
		return api.OplogFindingList{}, fmt.Errorf("findings: %w", err)
	}
	out := api.OplogFindingList{Findings: fs}
	if out.Findings == nil {
		out.Findings = []api.OplogFinding{}
	}
	if len(fs) == DefaultLimit {
		out.Next = Cursor{0, fs[len(fs)-1].ID}.String()
	}
	return out, nil
}

// Export formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// exportPage is how many rows each read of an export fetches: pages keep
// a long export from holding one read transaction for minutes.
const exportPage = 2000

// Export writes every event matching q (oldest first) to w, page by page,
// in CSV (csvexport: UTF-8 with a BOM so that Excel reads Japanese
// correctly; Japanese headers and JST times unless o asks for English or
// UTC) or JSON Lines. It returns the number of events written.
func (s *Service) Export(ctx context.Context, q Query, format string, o csvexport.Options, w io.Writer) (int, error) {
	if format != FormatCSV && format != FormatJSONL {
		return 0, api.Errf(api.CodeOplogFormat, "%q", format)
	}
	q.Asc, q.Limit, q.After = true, exportPage, nil
	var cw *csvexport.Writer
	var enc *json.Encoder
	var bw *bufio.Writer
	if format == FormatCSV {
		var err error
		if cw, err = csvexport.New(w, o, exportColumns); err != nil {
			return 0, err
		}
	} else {
		bw = bufio.NewWriterSize(w, 64<<10)
		enc = json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
	}
	n := 0
	for {
		rows, err := s.st.Search(ctx, q)
		if err != nil {
			return n, fmt.Errorf("export oplog: %w", err)
		}
		for _, r := range rows {
			if cw != nil {
				err = cw.Write([]string{cw.TimeMS(r.At), r.UserID, r.Department, r.DeviceID, strconv.FormatInt(r.Seq, 10),
					r.Type, r.Target, sortedFields(r.Fields), fmt.Sprintf("%x", r.Hash), cw.TimeMS(r.ReceivedAt)})
			} else {
				err = enc.Encode(ToRecord(r))
			}
			if err != nil {
				return n, err
			}
			n++
		}
		if cw != nil {
			err = cw.Flush()
		} else {
			err = bw.Flush()
		}
		if err != nil {
			return n, err
		}
		if len(rows) < q.Limit {
			return n, nil
		}
		last := rows[len(rows)-1]
		q.After = &Cursor{last.At, last.ID}
	}
}

// exportColumns are the CSV export's columns, Japanese and English.
var exportColumns = []csvexport.Column{
	{JA: "日時", EN: "Time", Time: true}, {JA: "職員番号", EN: "Staff ID"}, {JA: "所属", EN: "Department"},
	{JA: "端末ID", EN: "Device ID"}, {JA: "連番", EN: "Sequence"}, {JA: "種別", EN: "Event type"}, {JA: "対象", EN: "Target"},
	{JA: "内容", EN: "Details"}, {JA: "ハッシュ", EN: "Hash"}, {JA: "受信日時", EN: "Received", Time: true},
}

// sortedFields renders the JSON fields as k=v pairs in key order: easier
// to read and filter in a spreadsheet than JSON.
func sortedFields(js string) string {
	if js == "" {
		return ""
	}
	var m map[string]string
	if json.Unmarshal([]byte(js), &m) != nil {
		return js
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(k + "=" + m[k])
	}
	return sb.String()
}
