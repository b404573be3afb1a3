package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// TestE2EPostgresJapaneseTrigrams: in a C.UTF-8 database pg_trgm makes
// trigrams of kana and kanji (so chat search uses its index), and Open
// refuses a database whose LC_CTYPE is C, where it makes none, naming
// what to create instead, before it creates any table.
func TestE2EPostgresJapaneseTrigrams(t *testing.T) {
	srv := pgtest.Shared(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, srv.NewDatabase(t), nil, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.DB().QueryRowContext(ctx, `SELECT cardinality(show_trgm('窓口をお願い'))`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("show_trgm(窓口をお願い) has %d trigrams: the database does not classify Japanese as letters", n)
	}

	if err := srv.Exec(ctx, `CREATE DATABASE c_locale LC_CTYPE 'C' LC_COLLATE 'C' TEMPLATE template0`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Exec(context.Background(), `DROP DATABASE c_locale WITH (FORCE)`) })
	_, err = postgres.Open(ctx, srv.URL("c_locale"), nil, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "C.UTF-8") {
		t.Fatalf("Open on an LC_CTYPE C database: %v, want a refusal naming C.UTF-8", err)
	}
	db, err := sql.Open("pgx", srv.URL("c_locale"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("the refused database has %d tables (%v): Open must refuse before it migrates", tables, err)
	}
}
