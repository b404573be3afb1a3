package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
	"github.com/zaitaku/zaitaku/broker/store/storetest"
)

// The engine set the broker is built from: a method that drifts from the
// domains' interfaces fails the build, not the broker at start.
var _ services.Stores = (*sqlite.Store)(nil)

func TestStoreContract(t *testing.T) { storetest.Run(t, openTemp) }

// openTemp opens a fresh database per behaviour: migrating an empty file
// costs a few milliseconds, cheaper than reasoning about shared state.
func openTemp(t *testing.T) services.Stores {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "zaitaku.db"), nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}
