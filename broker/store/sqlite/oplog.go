package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// Oplog adapts the store to oplog.Store.
type Oplog struct{ s *Store }

// Oplog returns the operation-log store.
func (s *Store) Oplog() oplog.Store { return &Oplog{s} }

var _ oplog.Store = (*Oplog)(nil)

type oplogTx struct {
	tx *sql.Tx
	s  *Store
}

// InTx implements oplog.Store. Transactions on W start IMMEDIATE, so the
// chain tip read first cannot change before commit, even from another
// process (the admin CLI).
func (o *Oplog) InTx(ctx context.Context, fn func(oplog.Tx) error) error {
	return o.s.Tx(ctx, func(tx *sql.Tx) error { return fn(oplogTx{tx, o.s}) })
}

func (t oplogTx) Tip(ctx context.Context, deviceID string) (oplog.Tip, error) {
	var tip oplog.Tip
	err := t.s.stmt(ctx, t.tx, qOplogTip).QueryRowContext(ctx, deviceID).
		Scan(&tip.Seq, &tip.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return oplog.Tip{}, nil
	}
	return tip, err
}

func (t oplogTx) StoredHash(ctx context.Context, deviceID string, seq int64) ([]byte, error) {
	var h []byte
	err := t.tx.QueryRowContext(ctx, `SELECT hash FROM oplog_events WHERE device_id = ? AND seq = ?`, deviceID, seq).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return h, err
}

// insertChunk rows go in one multi-row INSERT: far fewer statement
// executions than one per row (12 parameters each, well under SQLite's
// limit of 32766).
const insertChunk = 100

const oplogInsertCols = `(device_id, seq, at, user_id, department, type, target, fields, prev, hash, received_at)`

func insertSQL(n int) string {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO oplog_events ` + oplogInsertCols + ` VALUES `)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
	}
	sb.WriteString(` ON CONFLICT (device_id, seq) DO NOTHING`)
	return sb.String()
}

// A full chunk (ingest) and a single row (an audit record) are the
// common shapes; other sizes are compiled as they come.
var (
	qOplogInsertFull = newWriteQuery(insertSQL(insertChunk))
	qOplogInsertOne  = newWriteQuery(insertSQL(1))
	qOplogTip        = newWriteQuery(`SELECT last_seq, last_hash FROM oplog_chains WHERE device_id = ?`)
	qOplogSetTip     = newWriteQuery(`INSERT INTO oplog_chains (device_id, last_seq, last_hash, updated_at) VALUES (?,?,?,?)
		ON CONFLICT (device_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash, updated_at = excluded.updated_at`)
)

func (t oplogTx) Insert(ctx context.Context, rows []oplog.Row) (int, error) {
	return t.s.insertRows(ctx, t.tx, rows)
}

func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, rows []oplog.Row) (int, error) {
	total := 0
	args := make([]any, 0, min(len(rows), insertChunk)*11)
	for len(rows) > 0 {
		n := min(len(rows), insertChunk)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r.DeviceID, r.Seq, r.At, r.UserID, r.Department, r.Type, r.Target, r.Fields, r.Prev, r.Hash, r.ReceivedAt)
		}
		var res sql.Result
		var err error
		switch n {
		case insertChunk:
			res, err = s.stmt(ctx, tx, qOplogInsertFull).ExecContext(ctx, args...)
		case 1:
			res, err = s.stmt(ctx, tx, qOplogInsertOne).ExecContext(ctx, args...)
		default:
			res, err = tx.ExecContext(ctx, insertSQL(n), args...)
		}
		if err != nil {
			return total, fmt.Errorf("insert oplog events: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(k)
		rows = rows[n:]
	}
	return total, nil
}

func (t oplogTx) AddFindings(ctx context.Context, fs []api.OplogFinding) error {
	for _, f := range fs {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO oplog_findings (device_id, user_id, seq, kind, detail, at) VALUES (?,?,?,?,?,?)`,
			f.DeviceID, f.UserID, f.Seq, f.Kind, f.Detail, ms(f.At)); err != nil {
			return fmt.Errorf("insert finding: %w", err)
		}
	}
	return nil
}

func (t oplogTx) SetTip(ctx context.Context, deviceID string, tip oplog.Tip, at int64) error {
	_, err := t.s.stmt(ctx, t.tx, qOplogSetTip).ExecContext(ctx, deviceID, tip.Seq, tip.Hash, at)
	return err
}

// BulkInsert stores rows as they are, in one transaction, bypassing the
// chain checks: for benchmarks and imports that build their own rows.
func (o *Oplog) BulkInsert(ctx context.Context, rows []oplog.Row) (int, error) {
	var n int
	err := o.s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = o.s.insertRows(ctx, tx, rows)
		return err
	})
	return n, err
}

const oplogCols = `id, device_id, seq, at, user_id, department, type, target, fields, prev, hash, received_at`

// Search implements oplog.Store.
func (o *Oplog) Search(ctx context.Context, q oplog.Query) ([]oplog.Row, error) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("user_id", q.User)
	eq("device_id", q.Device)
	// The department stored with each event: a section's day as it was,
	// whoever has moved since.
	eq("department", q.Department)
	eq("type", q.Type)
	// A department's or a type's events are found through the hour
	// indexes (migration 0031): the range's hours, then the time.
	hourIndex := ""
	if q.User == "" && q.Device == "" && !q.BySeq {
		switch {
		case q.Department != "":
			hourIndex = "oplog_events_department_hour"
		case q.Type != "":
			hourIndex = "oplog_events_type_hour"
		}
	}
	if hourIndex != "" {
		lo, hi := int64(math.MinInt64/msPerHour), int64(math.MaxInt64/msPerHour)
		if q.From != 0 {
			lo = q.From / msPerHour // truncated, as SQLite's at/3600000 is: monotonic, so the hours cover the range
		}
		if q.To != 0 {
			hi = (q.To - 1) / msPerHour
		}
		where = append(where, "at/3600000 BETWEEN ? AND ?")
		args = append(args, lo, hi)
	}
	if q.From != 0 {
		where = append(where, "at >= ?")
		args = append(args, q.From)
	}
	if q.To != 0 {
		where = append(where, "at < ?")
		args = append(args, q.To)
	}
	dir, cmp := "DESC", "<"
	if q.Asc {
		dir, cmp = "ASC", ">"
	}
	order := "at " + dir + ", id " + dir
	if q.BySeq {
		order = "seq " + dir
		if q.After != nil {
			where = append(where, "seq "+cmp+" ?")
			args = append(args, q.After.K1)
		}
	} else if q.After != nil {
		where = append(where, "(at, id) "+cmp+" (?, ?)")
		args = append(args, q.After.K1, q.After.K2)
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, " AND ")
	}
	sqlq := `SELECT ` + oplogCols + ` FROM oplog_events` + cond + ` ORDER BY ` + order + ` LIMIT ?`
	if hourIndex != "" {
		// The page's ids from the index alone (it holds at and the
		// rowid), then only those rows from the table.
		sqlq = `SELECT ` + oplogCols + ` FROM oplog_events WHERE id IN (SELECT id FROM oplog_events INDEXED BY ` + hourIndex +
			cond + ` ORDER BY ` + order + ` LIMIT ?) ORDER BY ` + order
	}
	args = append(args, q.Limit)
	rows, err := o.s.R.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oplog.Row
	for rows.Next() {
		var r oplog.Row
		if err := rows.Scan(&r.ID, &r.DeviceID, &r.Seq, &r.At, &r.UserID, &r.Department, &r.Type, &r.Target, &r.Fields,
			&r.Prev, &r.Hash, &r.ReceivedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const msPerHour = 3600000 // the hour indexes' unit: at/3600000

// Findings implements oplog.Store.
func (o *Oplog) Findings(ctx context.Context, deviceID string, afterID int64, limit int) ([]api.OplogFinding, error) {
	q := `SELECT id, device_id, user_id, seq, kind, detail, at FROM oplog_findings WHERE id > ?`
	args := []any{afterID}
	if deviceID != "" {
		q += ` AND device_id = ?`
		args = append(args, deviceID)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := o.s.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.OplogFinding
	for rows.Next() {
		var f api.OplogFinding
		var at int64
		if err := rows.Scan(&f.ID, &f.DeviceID, &f.UserID, &f.Seq, &f.Kind, &f.Detail, &at); err != nil {
			return nil, err
		}
		f.At = fromMS(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Holds implements oplog.Store.
func (o *Oplog) Holds(ctx context.Context) ([]api.OplogHold, error) {
	rows, err := o.s.R.QueryContext(ctx, `SELECT kind, subject, reason, created_by, created_at FROM oplog_holds ORDER BY kind, subject`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.OplogHold
	for rows.Next() {
		var h api.OplogHold
		var at int64
		if err := rows.Scan(&h.Kind, &h.Subject, &h.Reason, &h.CreatedBy, &at); err != nil {
			return nil, err
		}
		h.CreatedAt = fromMS(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

// PutHold implements oplog.Store.
func (o *Oplog) PutHold(ctx context.Context, h api.OplogHold) error {
	_, err := o.s.W.ExecContext(ctx, `INSERT INTO oplog_holds (kind, subject, reason, created_by, created_at) VALUES (?,?,?,?,?)`,
		h.Kind, h.Subject, h.Reason, h.CreatedBy, ms(h.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("hold %s %s: %w", h.Kind, h.Subject, oplog.ErrConflict)
	}
	return err
}

// DeleteHold implements oplog.Store.
func (o *Oplog) DeleteHold(ctx context.Context, kind, subject string) error {
	res, err := o.s.W.ExecContext(ctx, `DELETE FROM oplog_holds WHERE kind = ? AND subject = ?`, kind, subject)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("hold %s %s: %w", kind, subject, oplog.ErrNotFound)
	}
	return nil
}

// Purge implements oplog.Store: one chunk per transaction, so ingest
// waits at most for one chunk. There is no index on at: rows are walked
// in rowid (arrival) order, where the old ones come first.
func (o *Oplog) Purge(ctx context.Context, before int64, limit int) (int64, error) {
	res, err := o.s.W.ExecContext(ctx, `DELETE FROM oplog_events WHERE id IN (
		SELECT id FROM oplog_events WHERE at < ?
		AND user_id NOT IN (SELECT subject FROM oplog_holds WHERE kind = 'user')
		AND device_id NOT IN (SELECT subject FROM oplog_holds WHERE kind = 'device')
		ORDER BY id LIMIT ?)`, before, limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// GetSetting implements oplog.Store (the shared settings table).
func (o *Oplog) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := o.s.R.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("setting %s: %w", key, oplog.ErrNotFound)
	}
	return v, err
}

// PutSetting implements oplog.Store.
func (o *Oplog) PutSetting(ctx context.Context, key, value string, at int64) error {
	_, err := o.s.W.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?,?,?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, at)
	return err
}
