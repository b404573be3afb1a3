// Package dbcopy moves an installation's database from SQLite to
// PostgreSQL (`broker admin db copy`): every table, in one PostgreSQL
// transaction, proven by row counts and checksums computed on both sides
// before it commits. A copy that does not match leaves the target empty.
package dbcopy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the source's driver

	"github.com/zaitaku/zaitaku/broker/store/postgres"
)

// Table is what the copy did with one table.
type Table struct {
	Name       string
	SourceRows int64
	TargetRows int64
	SourceSum  string // SHA-256 of the rows in key order, hex
	TargetSum  string
}

// Match tells whether both sides hold the same rows.
func (t Table) Match() bool { return t.SourceRows == t.TargetRows && t.SourceSum == t.TargetSum }

// Report is the whole copy.
type Report struct {
	Tables  []Table
	Rows    int64 // copied, all tables
	Elapsed time.Duration
}

// column is a target column and what the source reads for it.
type column struct {
	name, source string
	kind         byte // 'i' integer, 's' text, 'b' bytes
	identity     bool
}

type table struct {
	name string
	cols []column
	key  []column
}

// skipped are SQLite tables with no PostgreSQL counterpart on purpose:
// the full-text index (chat_fts and its shadow tables), which PostgreSQL
// keeps as a pg_trgm index on chat_messages, built as rows arrive.
func skipped(name string) bool {
	return name == "schema_migrations" || name == "chat_fts" || strings.HasPrefix(name, "chat_fts_")
}

// Copy copies the SQLite database at path into dst, which must be at the
// same schema version and hold no rows. The source is opened read-only
// and read in one transaction (one snapshot): stop the broker first, or
// what it writes during the copy stays behind.
func Copy(ctx context.Context, path string, dst *postgres.Store, progress func(Table)) (Report, error) {
	start := time.Now()
	src, err := openSource(path)
	if err != nil {
		return Report{}, err
	}
	defer src.Close()
	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Report{}, err
	}
	defer stx.Rollback() //nolint:errcheck // read only
	if err := sameVersions(ctx, stx, dst); err != nil {
		return Report{}, err
	}
	tables, err := plan(ctx, stx, dst)
	if err != nil {
		return Report{}, err
	}
	conn, err := dst.Pool().Acquire(ctx)
	if err != nil {
		return Report{}, err
	}
	defer conn.Release()
	ttx, err := conn.Begin(ctx)
	if err != nil {
		return Report{}, err
	}
	defer ttx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit, a no-op
	for _, t := range tables {
		var has bool
		if err := ttx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgIdent(t.name)+`)`).Scan(&has); err != nil {
			return Report{}, err
		}
		if has && t.name != "readiness" {
			return Report{}, fmt.Errorf("the target database already has rows in %s: copy into a new, empty database (createdb), never over one in use", t.name)
		}
	}
	// The broker's write probe; the copy brings the source's.
	if _, err := ttx.Exec(ctx, `DELETE FROM readiness`); err != nil {
		return Report{}, err
	}
	var rep Report
	for _, t := range tables {
		n, err := copyTable(ctx, stx, ttx, t)
		if err != nil {
			return Report{}, fmt.Errorf("copy %s: %w", t.name, err)
		}
		rep.Rows += n
		for _, c := range t.cols {
			if c.identity {
				// The next generated value follows the copied ones.
				if _, err := ttx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), COALESCE(MAX(%s), 0) + 1, false) FROM %s`,
					t.name, c.name, pgIdent(c.name), pgIdent(t.name))); err != nil {
					return Report{}, fmt.Errorf("identity of %s.%s: %w", t.name, c.name, err)
				}
			}
		}
	}
	// The slots' queue numbers come from a sequence (several brokers
	// share the queue): new requests follow the copied ones.
	if _, err := ttx.Exec(ctx, `SELECT setval('slot_queue_seq', COALESCE(MAX(queue_seq), 0) + 1, false) FROM slots`); err != nil {
		return Report{}, fmt.Errorf("queue sequence of slots: %w", err)
	}
	var bad []string
	for _, t := range tables {
		r := Table{Name: t.name}
		if r.SourceRows, r.SourceSum, err = sourceSum(ctx, stx, t); err != nil {
			return Report{}, fmt.Errorf("checksum of %s in SQLite: %w", t.name, err)
		}
		if r.TargetRows, r.TargetSum, err = targetSum(ctx, ttx, t); err != nil {
			return Report{}, fmt.Errorf("checksum of %s in PostgreSQL: %w", t.name, err)
		}
		if !r.Match() {
			bad = append(bad, t.name)
		}
		rep.Tables = append(rep.Tables, r)
		if progress != nil {
			progress(r)
		}
	}
	if len(bad) > 0 {
		return rep, fmt.Errorf("the copy of %s does not match its source: nothing was committed; report this with the table names", strings.Join(bad, ", "))
	}
	if err := ttx.Commit(ctx); err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func openSource(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("no SQLite database at %s: give the broker's file, e.g. --from sqlite:/var/lib/zaitaku/zaitaku.db", abs)
	}
	db, err := sql.Open("sqlite", "file:"+abs+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func sameVersions(ctx context.Context, stx *sql.Tx, dst *postgres.Store) error {
	sv, err := strs(ctx, stx, `SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("the source is not a broker's database (%w)", err)
	}
	dv, err := dst.AppliedMigrations(ctx)
	if err != nil {
		return err
	}
	if !slices.Equal(sv, dv) {
		return fmt.Errorf("the SQLite database's schema (%d migrations, last %s) is not this broker's (%d, last %s): run `broker admin db migrate -db sqlite:PATH` with this broker first",
			len(sv), last(sv), len(dv), last(dv))
	}
	return nil
}

// plan reads the target's tables (in an order where a table comes after
// those it refers to), their columns and keys, and what the source has
// for each column: the same column, or rowid for the identity columns
// PostgreSQL adds where SQLite orders by rowid.
func plan(ctx context.Context, stx *sql.Tx, dst *postgres.Store) ([]table, error) {
	db := dst.DB().DB
	rows, err := db.QueryContext(ctx, `SELECT c.table_name, c.column_name, c.data_type, c.is_identity
		FROM information_schema.columns c JOIN information_schema.tables t
			ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name != 'schema_migrations'
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, err
	}
	byName := map[string]*table{}
	var names []string
	for rows.Next() {
		var tn, cn, typ, ident string
		if err := rows.Scan(&tn, &cn, &typ, &ident); err != nil {
			rows.Close()
			return nil, err
		}
		t := byName[tn]
		if t == nil {
			t = &table{name: tn}
			byName[tn] = t
			names = append(names, tn)
		}
		c := column{name: cn, source: cn, identity: ident == "YES"}
		switch typ {
		case "bigint", "integer", "smallint":
			c.kind = 'i'
		case "text":
			c.kind = 's'
		case "bytea":
			c.kind = 'b'
		default:
			rows.Close()
			return nil, fmt.Errorf("column %s.%s has type %s, which the copy does not know", tn, cn, typ)
		}
		t.cols = append(t.cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Source tables and columns: every source table must have a target.
	srcTables, err := strs(ctx, stx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for _, n := range srcTables {
		if !skipped(n) && byName[n] == nil {
			return nil, fmt.Errorf("the SQLite table %s has no PostgreSQL counterpart: this build's migrations differ between engines", n)
		}
	}
	for _, t := range byName {
		if !slices.Contains(srcTables, t.name) {
			return nil, fmt.Errorf("the PostgreSQL table %s has no SQLite counterpart: this build's migrations differ between engines", t.name)
		}
		have, err := strs(ctx, stx, `SELECT name FROM pragma_table_info(?)`, t.name)
		if err != nil {
			return nil, err
		}
		for i, c := range t.cols {
			switch {
			case slices.Contains(have, c.name):
			case c.identity:
				t.cols[i].source = "rowid"
			default:
				return nil, fmt.Errorf("column %s.%s is not in the SQLite table: this build's migrations differ between engines", t.name, c.name)
			}
		}
	}
	keys, err := db.QueryContext(ctx, `SELECT tc.table_name, k.column_name
		FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k
			ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name
		WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY'
		ORDER BY tc.table_name, k.ordinal_position`)
	if err != nil {
		return nil, err
	}
	for keys.Next() {
		var tn, cn string
		if err := keys.Scan(&tn, &cn); err != nil {
			keys.Close()
			return nil, err
		}
		if t := byName[tn]; t != nil {
			for _, c := range t.cols {
				if c.name == cn {
					t.key = append(t.key, c)
				}
			}
		}
	}
	keys.Close()
	deps := map[string][]string{}
	fks, err := db.QueryContext(ctx, `SELECT tc.table_name, u.table_name
		FROM information_schema.table_constraints tc JOIN information_schema.constraint_table_usage u
			ON u.constraint_schema = tc.constraint_schema AND u.constraint_name = tc.constraint_name
		WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'FOREIGN KEY'`)
	if err != nil {
		return nil, err
	}
	for fks.Next() {
		var from, to string
		if err := fks.Scan(&from, &to); err != nil {
			fks.Close()
			return nil, err
		}
		if from != to {
			deps[from] = append(deps[from], to)
		}
	}
	fks.Close()
	sort.Strings(names)
	var out []table
	done := map[string]bool{}
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		if done[n] {
			return nil
		}
		if slices.Contains(path, n) {
			return fmt.Errorf("foreign keys form a cycle through %s", strings.Join(append(path, n), " -> "))
		}
		for _, d := range deps[n] {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		done[n] = true
		t := byName[n]
		if len(t.key) == 0 {
			return fmt.Errorf("table %s has no primary key to order its checksum by", n)
		}
		out = append(out, *t)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func last(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return ss[len(ss)-1]
}

func strs(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func pgIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

func sourceQuery(t table) string {
	sel := make([]string, len(t.cols))
	for i, c := range t.cols {
		sel[i] = c.source
	}
	ord := make([]string, len(t.key))
	for i, c := range t.key {
		ord[i] = c.source // BINARY collation: byte order, as "C" below
	}
	return `SELECT ` + strings.Join(sel, ", ") + ` FROM "` + t.name + `" ORDER BY ` + strings.Join(ord, ", ")
}

func targetQuery(t table) string {
	sel := make([]string, len(t.cols))
	for i, c := range t.cols {
		sel[i] = pgIdent(c.name)
	}
	ord := make([]string, len(t.key))
	for i, c := range t.key {
		ord[i] = pgIdent(c.name)
		if c.kind == 's' {
			ord[i] += ` COLLATE "C"`
		}
	}
	return `SELECT ` + strings.Join(sel, ", ") + ` FROM ` + pgIdent(t.name) + ` ORDER BY ` + strings.Join(ord, ", ")
}

// sourceRows reads a source table as values of the target's types.
type sourceRows struct {
	rows *sql.Rows
	t    table
	raw  []any
	ptrs []any // &raw[i], for Scan
	vals []any
	err  error
}

func (s *sourceRows) Next() bool {
	if s.err != nil || !s.rows.Next() {
		return false
	}
	if s.err = s.rows.Scan(s.ptrs...); s.err != nil {
		return false
	}
	for i, c := range s.t.cols {
		if s.vals[i], s.err = normalize(c, s.raw[i]); s.err != nil {
			s.err = fmt.Errorf("%s.%s: %w", s.t.name, c.name, s.err)
			return false
		}
	}
	return true
}

func (s *sourceRows) Values() ([]any, error) { return s.vals, nil }

func (s *sourceRows) Err() error { return errors.Join(s.err, s.rows.Err()) }

func readSource(ctx context.Context, stx *sql.Tx, t table) (*sourceRows, error) {
	rows, err := stx.QueryContext(ctx, sourceQuery(t))
	if err != nil {
		return nil, err
	}
	s := &sourceRows{rows: rows, t: t, raw: make([]any, len(t.cols)), ptrs: make([]any, len(t.cols)), vals: make([]any, len(t.cols))}
	for i := range s.raw {
		s.ptrs[i] = &s.raw[i]
	}
	return s, nil
}

func copyTable(ctx context.Context, stx *sql.Tx, ttx pgx.Tx, t table) (int64, error) {
	src, err := readSource(ctx, stx, t)
	if err != nil {
		return 0, err
	}
	defer src.rows.Close()
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	n, err := ttx.CopyFrom(ctx, pgx.Identifier{t.name}, names, src)
	if err != nil {
		return n, err
	}
	return n, src.Err()
}

// normalize turns a value as one engine's driver returns it into the
// target column's Go type: int64, string or []byte (nil for NULL).
func normalize(c column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.kind {
	case 'i':
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case 's':
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case 'b':
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("a %T where the target holds %s", v, map[byte]string{'i': "an integer", 's': "text", 'b': "bytes"}[c.kind])
}

// rowSum adds one row to h: each value tagged with its type and length,
// so that no two different rows hash alike.
func rowSum(h hash.Hash, t table, vals []any) error {
	var n [8]byte
	for i, c := range t.cols {
		v, err := normalize(c, vals[i])
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t.name, c.name, err)
		}
		switch x := v.(type) {
		case nil:
			h.Write([]byte{'n'})
		case int64:
			binary.BigEndian.PutUint64(n[:], uint64(x))
			h.Write([]byte{'i'})
			h.Write(n[:])
		case string:
			binary.BigEndian.PutUint64(n[:], uint64(len(x)))
			h.Write([]byte{'s'})
			h.Write(n[:])
			h.Write([]byte(x))
		case []byte:
			binary.BigEndian.PutUint64(n[:], uint64(len(x)))
			h.Write([]byte{'b'})
			h.Write(n[:])
			h.Write(x)
		}
	}
	return nil
}

func sourceSum(ctx context.Context, stx *sql.Tx, t table) (int64, string, error) {
	rows, err := stx.QueryContext(ctx, sourceQuery(t))
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	h := sha256.New()
	raw := make([]any, len(t.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var count int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, "", err
		}
		if err := rowSum(h, t, raw); err != nil {
			return 0, "", err
		}
		count++
	}
	return count, hex.EncodeToString(h.Sum(nil)), rows.Err()
}

func targetSum(ctx context.Context, ttx pgx.Tx, t table) (int64, string, error) {
	rows, err := ttx.Query(ctx, targetQuery(t))
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	h := sha256.New()
	var count int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, "", err
		}
		if err := rowSum(h, t, vals); err != nil {
			return 0, "", err
		}
		count++
	}
	return count, hex.EncodeToString(h.Sum(nil)), rows.Err()
}
