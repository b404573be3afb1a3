package postgres_test

import (
	"context"
	"testing"

	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
	"github.com/zaitaku/zaitaku/broker/store/storetest"
)

// The engine set the broker is built from: a method that drifts from the
// domains' interfaces fails the build, not the broker at start.
var _ services.Stores = (*postgres.Store)(nil)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestE2EPostgresStore holds PostgreSQL to the store contract, the same
// subtests as TestStoreContract on SQLite, on a server the test starts.
func TestE2EPostgresStore(t *testing.T) {
	srv := pgtest.Shared(t)
	storetest.Run(t, func(t *testing.T) services.Stores {
		st, err := postgres.Open(context.Background(), srv.Emptied(t), nil, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
		return st
	})
}
