// Package pgtest starts a real PostgreSQL server for tests: initdb and
// pg_ctl in a temporary directory, listening only on a unix socket there
// (named by a free port number), once per test binary. Each test gets
// its own database, copied from a migrated template.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/zaitaku/zaitaku/broker/store/postgres"
)

// Server is a running PostgreSQL.
type Server struct {
	Dir  string // data directory and socket directory
	Port int
	bin  string
	as   []string // the command prefix that runs a program as the server's owner

	reusedOnce sync.Once
	reusedErr  error
	n          atomic.Int64
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// Main runs the package's tests and stops the shared server, if one was
// started, before exiting: call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// Shared returns the package's server, starting it on first use. It
// fails the test when PostgreSQL is not installed (make deps installs
// it), never skips.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// binDir finds the newest installed server's programs (Debian keeps them
// out of PATH, under /usr/lib/postgresql/N/bin).
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	ds, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(ds) == 0 {
		return "", errors.New("PostgreSQL is not installed: run `make deps` (Debian package postgresql)")
	}
	sort.Slice(ds, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ds[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ds[j]))))
		return vi < vj
	})
	return filepath.Dir(ds[len(ds)-1]), nil
}

// statementsLib reports whether pg_stat_statements is installed beside
// the server (pg_ctl may be a link from a directory in PATH).
func statementsLib(bin string) bool {
	real, err := filepath.EvalSymlinks(filepath.Join(bin, "pg_ctl"))
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(filepath.Dir(real)), "lib", "pg_stat_statements.so"))
	return err == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start creates and starts a server. PostgreSQL refuses to run as root,
// so as root it runs as the postgres user (runuser), in a directory that
// user owns.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "zaitaku-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w (install the postgresql package)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.as = []string{"runuser", "-u", "postgres", "--"}
	}
	if s.Port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	// UTF-8 with C.UTF-8 character classes: what production needs for
	// pg_trgm to index Japanese (see broker/store/postgres).
	if out, err := s.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Durability buys nothing in a throwaway directory.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
		s.Port, dir)
	if statementsLib(bin) {
		// Benchmarks count the statements a request costs (Statements).
		opts += " -c shared_preload_libraries=pg_stat_statements"
	}
	if out, err := s.run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return s, nil
}

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, s.as...), prog), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.Dir
	return cmd.CombinedOutput()
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() error {
	out, err := s.run(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.Dir, "data"), "-m", "fast", "-w", "stop")
	if err != nil {
		err = fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// URL is the address of database name on the server.
func (s *Server) URL(name string) string {
	q := url.Values{"host": {s.Dir}, "port": {strconv.Itoa(s.Port)}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + name + "?" + q.Encode()
}

// Exec runs statements on the server's maintenance database.
func (s *Server) Exec(ctx context.Context, stmts ...string) error {
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// NewDatabase creates an empty database (no tables) for t and drops it
// when t ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%s", s.n.Add(1), sanitize(t.Name()))
	if err := s.Exec(ctx, fmt.Sprintf("CREATE DATABASE %q TEMPLATE template0", name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Exec(context.Background(), fmt.Sprintf("DROP DATABASE %q WITH (FORCE)", name)); err != nil {
			t.Error(err)
		}
	})
	return s.URL(name)
}

const reused = "zaitaku_reused"

// Emptied returns a migrated database with no rows: one database for the
// whole package, emptied (TRUNCATE, identities restarted) on each call,
// which costs a few milliseconds where creating a database costs a few
// hundred. For tests that run one after another and close their store
// before the next starts, as the contract suite's do.
func (s *Server) Emptied(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	s.reusedOnce.Do(func() {
		if s.reusedErr = s.Exec(ctx, "CREATE DATABASE "+reused+" TEMPLATE template0"); s.reusedErr != nil {
			return
		}
		st, err := postgres.Open(ctx, s.URL(reused), nil, postgres.Options{})
		if err != nil {
			s.reusedErr = err
			return
		}
		s.reusedErr = st.Close()
	})
	if s.reusedErr != nil {
		t.Fatal(s.reusedErr)
	}
	db, err := sql.Open("pgx", s.URL(reused))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables string
	if err := db.QueryRowContext(ctx, `SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables
		WHERE schemaname = 'public' AND tablename != 'schema_migrations'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "TRUNCATE "+tables+" RESTART IDENTITY CASCADE"); err != nil {
		t.Fatal(err)
	}
	return s.URL(reused)
}

// sanitize keeps a database name short and plain (63 bytes at most).
func sanitize(name string) string {
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(name))
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return name
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" driver for database/sql

// Wait polls until the server answers or d passes (for tests that
// restart it).
func (s *Server) Wait(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	for {
		err := s.Exec(ctx, "SELECT 1")
		if err == nil || time.Now().After(end) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
