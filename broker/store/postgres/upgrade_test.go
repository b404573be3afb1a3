package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// TestE2ERollingUpgradeMigrations: a broker starts against a database
// that a newer broker has migrated further, as long as every migration
// it does not know is marked additive (brokers of two versions side by
// side during a rolling upgrade); one it does not know that is not
// additive is refused, naming it. This binary's own new tables are
// marked additive.
func TestE2ERollingUpgradeMigrations(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	open := func() (*postgres.Store, error) { return postgres.Open(ctx, url, nil, postgres.Options{}) }
	st, err := open()
	if err != nil {
		t.Fatal(err)
	}
	// The slots' change feed (0211) runs beside brokers of the version
	// before: TestE2ELedgerChangeFeed holds their writes to it.
	for _, name := range []string{"0191_bus_payloads.sql", "0211_slot_versions.sql"} {
		var additive int
		if err := st.DB().QueryRowContext(ctx, `SELECT additive FROM schema_migrations WHERE name = ?`, name).Scan(&additive); err != nil || additive != 1 {
			t.Fatalf("%s recorded additive=%d (%v), want 1", name, additive, err)
		}
	}
	// A newer broker added a column with a default: this one runs on.
	if _, err := st.DB().ExecContext(ctx, `ALTER TABLE events ADD COLUMN newer_flag BIGINT NOT NULL DEFAULT 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at, additive) VALUES (99990, '99990_newer_flag.sql', 'x', 1)`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = open()
	if err != nil {
		t.Fatalf("a newer additive migration: %v", err)
	}
	// A newer broker renamed something: this one must not run.
	if _, err := st.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at, additive) VALUES (99991, '99991_rename.sql', 'x', 0)`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err = open(); err == nil {
		st.Close()
		t.Fatal("opened a database with a newer migration that is not additive")
	} else if !strings.Contains(err.Error(), "99991_rename.sql") || !strings.Contains(err.Error(), "not additive") {
		t.Fatalf("refusal: %v", err)
	}
	t.Logf("an older broker is told: %v", err)
}
