// Package sqlite implements the domain packages' store interfaces on SQLite
// (the default, embedded) with versioned migrations. Each domain's methods
// live in a file of their own (auth.go, ...).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique key already exists.
var ErrConflict = errors.New("already exists")

// Store is the database. SQLite allows one writer at a time, so writes go
// through a single connection (W) whose transactions start IMMEDIATE and
// never hit SQLITE_BUSY mid-way; reads use a pool (R) that runs in parallel
// under WAL.
type Store struct {
	W, R *sql.DB
	path string
	log  *slog.Logger

	stmtMu sync.Mutex // guards stmts
	stmts  map[string]*sql.Stmt
	wstmts []*sql.Stmt // by writeQuery, prepared on W at Open
}

// prepared returns a read statement prepared once (per name) on the read
// pool; database/sql re-prepares it per connection as needed.
func (s *Store) prepared(ctx context.Context, name, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[name]; ok {
		return st, nil
	}
	st, err := s.R.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", name, err)
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[name] = st
	return st, nil
}

// writeQuery is a statement that write transactions run often, compiled
// once on the writer connection when the store opens and reused by every
// transaction after: the driver compiles an ad-hoc statement on each
// execution, and on the send path of a chat message that parse was a
// third of the store's time. (They cannot be compiled lazily: a
// transaction holds the writer's only connection, and a prepare on W
// would wait for it forever.)
type writeQuery int

var writeQueries []string

// newWriteQuery registers text; package variables only, before Open.
func newWriteQuery(text string) writeQuery {
	writeQueries = append(writeQueries, text)
	return writeQuery(len(writeQueries) - 1)
}

// stmt returns q bound to tx.
func (s *Store) stmt(ctx context.Context, tx *sql.Tx, q writeQuery) *sql.Stmt {
	return tx.StmtContext(ctx, s.wstmts[q])
}

// Options tunes Open.
type Options struct {
	// Synchronous is SQLite's synchronous level: "NORMAL" (default; durable
	// across application crashes, and in WAL mode a power loss can lose only
	// the last commits, never corrupt) or "FULL".
	Synchronous string
}

// Open opens (creating if needed) the database file at path and
// applies pending migrations.
func Open(ctx context.Context, path string, log *slog.Logger, opt Options) (*Store, error) {
	if opt.Synchronous == "" {
		opt.Synchronous = "NORMAL"
	}
	switch strings.ToUpper(opt.Synchronous) {
	case "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("sqlite synchronous %q: use NORMAL, FULL or EXTRA", opt.Synchronous)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{
		"busy_timeout(10000)",
		"journal_mode(WAL)",
		"synchronous(" + strings.ToUpper(opt.Synchronous) + ")",
		"foreign_keys(ON)",
		"temp_store(MEMORY)",
		"cache_size(-65536)",
	} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + abs + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn+"&mode=ro")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{W: w, R: r, path: abs, log: log}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	for _, text := range writeQueries {
		st, err := w.PrepareContext(ctx, text)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("prepare %q: %w", text, err)
		}
		s.wstmts = append(s.wstmts, st)
	}
	return s, nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close closes both pools; the WAL is checkpointed by SQLite on last close.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	for _, st := range s.wstmts {
		st.Close()
	}
	s.stmts, s.wstmts = nil, nil
	s.stmtMu.Unlock()
	err1 := s.R.Close()
	err2 := s.W.Close()
	return errors.Join(err1, err2)
}

// Ping checks that the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.R.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// CheckWritable proves the database takes writes (for start-up and
// /readyz): a read-only file or volume answers reads but fails here.
func (s *Store) CheckWritable(ctx context.Context) error {
	_, err := s.W.ExecContext(ctx, `INSERT INTO readiness(id, at) VALUES(1, ?) ON CONFLICT(id) DO UPDATE SET at=excluded.at`,
		time.Now().UnixMilli())
	return err
}

// Synchronous returns the synchronous level in force (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA).
func (s *Store) Synchronous(ctx context.Context) (int, error) {
	var v int
	err := s.W.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&v)
	return v, err
}

// Tx runs fn in a write transaction, committing if fn returns nil.
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, name, string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies each pending migration in its own transaction, so a
// failure leaves the schema at the last good version.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := s.W.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version, name, applied_at) VALUES(?,?,?)",
				m.version, m.name, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if s.log != nil {
			s.log.Info("applied migration", "name", m.name)
		}
	}
	return nil
}

// AppliedMigrations names the applied schema migrations, oldest first
// (`broker admin db migrate` prints them).
func (s *Store) AppliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := s.R.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Time columns are stored as Unix milliseconds (INTEGER): compact, indexable
// and the same in SQLite and PostgreSQL.

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
