// Package postgres implements the domain packages' store interfaces on
// PostgreSQL (pgx, through one pgxpool), for installations that run
// several brokers on one database. Its schema mirrors broker/store/sqlite
// table for table and column for column, with migrations of the same
// numbers, so that `broker admin db copy` moves rows as they are and the
// contract suite (broker/store/storetest) holds both engines to the same
// behaviour.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is the database: one pgxpool, reached through database/sql so
// that the queries read like the SQLite engine's (pgx prepares and caches
// each statement per connection on its own).
type Store struct {
	pool *pgxpool.Pool
	db   *DB
	log  *slog.Logger
	url  string
}

// Options tunes Open.
type Options struct {
	// MaxConns bounds the pool (default: pgxpool's, the larger of 4 and
	// the number of CPUs).
	MaxConns int32
}

// Open connects to the database at url (postgres://...), applies pending
// migrations and returns the store.
func Open(ctx context.Context, url string, log *slog.Logger, opt Options) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w (use postgres://USER@HOST:PORT/DBNAME)", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second // a dead host is reported, not waited on
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	// Every session reads and writes UTC milliseconds; the zone only
	// matters to what an operator sees in psql.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", Redact(url), err)
	}
	s := &Store{pool: pool, db: &DB{stdlib.OpenDBFromPool(pool)}, log: log, url: url}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s: %w (check that PostgreSQL runs and the URL's user, password and database)", Redact(url), err)
	}
	if err := s.checkEncoding(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Redact is url without its password, for messages and logs.
func Redact(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "the database URL"
	}
	if strings.HasPrefix(cfg.Host, "/") { // a unix socket's directory
		return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d", cfg.User, cfg.Database, cfg.Host, cfg.Port)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Path names the database (without the password), as sqlite's Path
// names its file.
func (s *Store) Path() string { return Redact(s.url) }

// DB is the database for tools that read tables directly (the copy).
func (s *Store) DB() *DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// Ping checks that the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// CheckWritable proves the database takes writes (for start-up and
// /readyz): a standby or a read-only user answers reads but fails here.
func (s *Store) CheckWritable(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO readiness(id, at) VALUES(1, ?) ON CONFLICT(id) DO UPDATE SET at=excluded.at`,
		time.Now().UnixMilli())
	return err
}

// checkEncoding refuses a database whose text is not UTF-8, or whose
// character classes leave Japanese out: pg_trgm then makes no trigrams of
// Japanese text and chat search falls back to reading every message.
func (s *Store) checkEncoding(ctx context.Context) error {
	var enc, ctype string
	if err := s.db.QueryRowContext(ctx, `SELECT pg_encoding_to_char(encoding), datctype FROM pg_database
		WHERE datname = current_database()`).Scan(&enc, &ctype); err != nil {
		return err
	}
	if enc != "UTF8" {
		return fmt.Errorf("database %s is encoded %s: create it with ENCODING 'UTF8' LC_CTYPE 'C.UTF-8' (see packaging/README.md)", s.Path(), enc)
	}
	if c := strings.ToUpper(ctype); c == "C" || c == "POSIX" {
		return fmt.Errorf("database %s has LC_CTYPE %s, under which chat search cannot index Japanese: create it with LC_CTYPE 'C.UTF-8' (see packaging/README.md)", s.Path(), ctype)
	}
	return nil
}

// Tx runs fn in a transaction, committing if fn returns nil.
func (s *Store) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.db.tx(ctx, nil, fn)
}

func (d *DB) tx(ctx context.Context, opt *sql.TxOptions, fn func(tx *Tx) error) error {
	tx, err := d.DB.BeginTx(ctx, opt)
	if err != nil {
		return err
	}
	if err := fn(&Tx{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// DB and Tx take the SQLite engine's '?' (and '?N') placeholders and
// boolean arguments, so that both engines' queries read the same: the
// placeholders become $N once per query text, the booleans 0 and 1 (the
// schema keeps flags as integers, as SQLite does, so that a copy moves
// them unchanged).
type DB struct{ *sql.DB }

// Tx is a transaction on DB.
type Tx struct{ *sql.Tx }

// ExecContext runs a statement.
func (d *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, rebind(q), pgArgs(args)...)
}

// QueryContext runs a query.
func (d *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, rebind(q), pgArgs(args)...)
}

// QueryRowContext runs a query of one row.
func (d *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, rebind(q), pgArgs(args)...)
}

// ExecContext runs a statement.
func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, rebind(q), pgArgs(args)...)
}

// QueryContext runs a query.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, rebind(q), pgArgs(args)...)
}

// QueryRowContext runs a query of one row.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, rebind(q), pgArgs(args)...)
}

// lock takes a transaction-level advisory lock on key: what SQLite's one
// writer gives for free, asked for where a transaction reads before it
// writes rows that may not exist yet (a chain tip, a client key).
func (t *Tx) lock(ctx context.Context, key string) error {
	_, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key)
	return err
}

var rebound sync.Map // query text -> PostgreSQL text

// rebind turns '?' into $1, $2, ... in order and '?N' into $N. The
// queries of this package put no '?' inside string literals.
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		if i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			b.WriteByte('$')
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}

func pgArgs(args []any) []any {
	for i, a := range args {
		if v, ok := a.(bool); ok {
			if v {
				args[i] = int64(1)
			} else {
				args[i] = int64(0)
			}
		}
	}
	return args
}

type migration struct {
	version  int
	name     string
	sql      string
	additive bool // marked AdditiveMarker: brokers that do not know it run on beside it
}

// AdditiveMarker marks a migration that only adds (tables, indexes,
// columns that are nullable or have a default) and changes nothing an
// older broker reads or writes: an older broker starts against a
// database that has it (a rolling upgrade, with brokers of two versions
// side by side). A database with an applied migration that this broker
// does not know and that is not marked so is refused: stop every broker
// for that upgrade.
const AdditiveMarker = "-- zaitaku: additive"

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
		ms = append(ms, migration{v, name, string(b), strings.Contains(string(b), "\n"+AdditiveMarker+"\n") || strings.HasPrefix(string(b), AdditiveMarker+"\n")})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrationLock is the advisory lock brokers starting together take, so
// that one of them migrates and the others wait and find it done.
const migrationLock = 0x7a61_6974_616b_7501 // "zaitaku" 1

// migrate applies each pending migration in its own transaction (DDL is
// transactional in PostgreSQL), so a failure leaves the schema at the
// last good version.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)) //nolint:errcheck // released with the connection anyway
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
		ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS additive BIGINT NOT NULL DEFAULT 0`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	applied := map[int]bool{}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	var newer []string
	rows, err := conn.QueryContext(ctx, "SELECT version, name, additive FROM schema_migrations ORDER BY version")
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		var name string
		var additive int64
		if err := rows.Scan(&v, &name, &additive); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
		if !known[v] {
			if additive == 0 {
				rows.Close()
				return fmt.Errorf("database %s has migration %s, which this broker does not know and which is not additive: a newer broker changed the schema in a way this one cannot run beside; run the newer broker version here too (see packaging/README.md, rolling upgrades)", s.Path(), name)
			}
			newer = append(newer, name)
		}
	}
	rows.Close()
	if len(newer) > 0 {
		s.log.Warn("the database has additive migrations of a newer broker; running beside it", "migrations", strings.Join(newer, ", "))
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback() //nolint:errcheck // the error that matters is err
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version, name, applied_at, additive) VALUES($1,$2,$3,$4)",
			m.version, m.name, time.Now().UTC().Format(time.RFC3339), pgArgs([]any{m.additive})[0]); err != nil {
			tx.Rollback() //nolint:errcheck // the error that matters is err
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if s.log != nil {
			s.log.Info("applied migration", "name", m.name)
		}
	}
	return nil
}

// Migrate applies pending migrations (Open already has; for `broker
// admin db migrate`, which reports the versions).
func (s *Store) Migrate(ctx context.Context) error { return s.migrate(ctx) }

// Time columns are Unix milliseconds (BIGINT), as in SQLite.

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

func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

func isUnique(err error) bool {
	c, _ := pgCode(err)
	return c == "23505"
}

func isForeignKey(err error) bool {
	c, _ := pgCode(err)
	return c == "23503"
}

func constraint(err error) string {
	_, c := pgCode(err)
	return c
}

// Pool is the connection pool, for bulk work that database/sql cannot do
// (COPY, in `broker admin db copy`).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// AppliedMigrations names the applied schema migrations (their file
// names, which are the same on both engines), oldest first.
func (s *Store) AppliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY version`)
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
