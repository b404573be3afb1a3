package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/roster"
	"github.com/zaitaku/zaitaku/broker/services"
)

func newImport(id, status string, effective time.Time) roster.Import {
	return roster.Import{ID: id, Actor: "it-1", FileName: "名簿.csv", Encoding: "shift_jis", CSV: "職員番号,氏名,所属\n",
		Effective: effective.In(jst).Format(time.DateOnly), EffectiveAt: effective, Status: status, CreatedAt: at(0),
		Report: []byte(`{"counts":{}}`)}
}

func createImport(t *testing.T, st services.Stores, imp roster.Import) {
	t.Helper()
	must(t, st.Roster().Update(t.Context(), func(tx roster.Tx) error { return tx.CreateImport(t.Context(), imp) }))
}

func importIDs(imps []roster.Import) []string {
	var ids []string
	for _, i := range imps {
		ids = append(ids, i.ID)
	}
	return ids
}

var rosterBehaviours = []behaviour{
	{"a transaction's writes are seen by its reads, by other stores after commit, and undone on error", func(t *testing.T, st services.Stores) {
		ctx := t.Context()
		addUser(t, st, "k1", "総務課")
		err := st.Roster().Update(ctx, func(tx roster.Tx) error {
			u := newUser("k2", "税務課")
			u.Kana = "ショクイン"
			must(t, tx.CreateUser(ctx, u))
			must(t, tx.CreateTerminal(ctx, newTerminal("pc-2", "k2")))
			us, err := tx.Users(ctx)
			must(t, err)
			wantIDs(t, "users in the transaction", userIDs(us), []string{"k1", "k2"})
			return nil
		})
		must(t, err)
		u, err := st.Auth().GetUser(ctx, "k2")
		must(t, err)
		if u.Kana != "ショクイン" || getTerminal(t, st, "pc-2").UserID != "k2" {
			t.Errorf("after commit: kana %q, pc-2 %+v", u.Kana, getTerminal(t, st, "pc-2"))
		}
		err = st.Roster().Update(ctx, func(tx roster.Tx) error {
			must(t, tx.CreateUser(ctx, newUser("k3", "税務課")))
			k1 := newUser("k1", "市民課")
			must(t, tx.UpdateUser(ctx, k1))
			return errBoom
		})
		wantErr(t, "failed Update", err, errBoom)
		if _, err := st.Auth().GetUser(ctx, "k3"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("k3 after a failed transaction: %v", err)
		}
		if u, _ := st.Auth().GetUser(ctx, "k1"); u.Department != "総務課" {
			t.Errorf("k1 after a failed transaction: %s", u.Department)
		}
	}},
	{"a PC's user moves within one transaction: unpaired first, then paired", func(t *testing.T, st services.Stores) {
		ctx := t.Context()
		addUser(t, st, "k1", "総務課")
		addTerminal(t, st, newTerminal("pc-1", "k1"))
		must(t, st.Roster().Update(ctx, func(tx roster.Tx) error {
			old := newTerminal("pc-1", "")
			if err := tx.UpdateTerminal(ctx, old); err != nil {
				return err
			}
			return tx.CreateTerminal(ctx, newTerminal("pc-2", "k1"))
		}))
		if getTerminal(t, st, "pc-1").UserID != "" || getTerminal(t, st, "pc-2").UserID != "k1" {
			t.Errorf("pairings after the move: pc-1 %q, pc-2 %q", getTerminal(t, st, "pc-1").UserID, getTerminal(t, st, "pc-2").UserID)
		}
		err := st.Roster().Update(ctx, func(tx roster.Tx) error {
			return tx.UpdateTerminal(ctx, newTerminal("pc-1", "k1")) // k1 has pc-2
		})
		if err == nil {
			t.Error("a user paired with two PCs was accepted")
		}
	}},
	{"update of an unknown user or PC is not found", func(t *testing.T, st services.Stores) {
		ctx := t.Context()
		err := st.Roster().Update(ctx, func(tx roster.Tx) error { return tx.UpdateUser(ctx, newUser("nobody", "")) })
		wantErr(t, "UpdateUser", err, auth.ErrNotFound)
	}},
	{"view reads and cannot write", func(t *testing.T, st services.Stores) {
		ctx := t.Context()
		addUser(t, st, "k1", "総務課")
		addTerminal(t, st, newTerminal("pc-1", "k1"))
		err := st.Roster().View(ctx, func(tx roster.Tx) error {
			us, err := tx.Users(ctx)
			must(t, err)
			pcs, err := tx.Terminals(ctx)
			must(t, err)
			wantIDs(t, "users", userIDs(us), []string{"k1"})
			wantIDs(t, "PCs", terminalIDs(pcs), []string{"pc-1"})
			if tx.CreateUser(ctx, newUser("k2", "")) == nil {
				t.Error("a write in View succeeded")
			}
			return nil
		})
		must(t, err)
		if _, err := st.Auth().GetUser(ctx, "k2"); err == nil {
			t.Error("View wrote k2")
		}
	}},
	{"imports: every field back, newest first, due by date, finished once", func(t *testing.T, st services.Stores) {
		ctx := t.Context()
		a := newImport("ri_a", api.RosterPending, at(60))
		a.Limited, a.Department, a.DisableMissing = true, "税務課", true
		createImport(t, st, a)
		b := newImport("ri_b", api.RosterPending, at(30))
		b.CreatedAt = at(1)
		createImport(t, st, b)
		got, err := st.Roster().GetImport(ctx, "ri_a")
		must(t, err)
		same(t, "import", got, a)
		_, err = st.Roster().GetImport(ctx, "ri_none")
		wantErr(t, "GetImport", err, roster.ErrNotFound)
		list, err := st.Roster().ListImports(ctx, 10)
		must(t, err)
		wantIDs(t, "ListImports", importIDs(list), []string{"ri_b", "ri_a"})
		due, err := st.Roster().DueImports(ctx, at(30))
		must(t, err)
		wantIDs(t, "due at 30", importIDs(due), []string{"ri_b"})
		due, err = st.Roster().DueImports(ctx, at(90))
		must(t, err)
		wantIDs(t, "due at 90 (oldest date first)", importIDs(due), []string{"ri_b", "ri_a"})
		must(t, st.Roster().Update(ctx, func(tx roster.Tx) error {
			return tx.FinishImport(ctx, "ri_b", api.RosterApplied, []byte(`{"counts":{"added":1}}`), at(31))
		}))
		due, err = st.Roster().DueImports(ctx, at(90))
		must(t, err)
		wantIDs(t, "due after ri_b applied", importIDs(due), []string{"ri_a"})
		must(t, st.Roster().View(ctx, func(tx roster.Tx) error {
			s, err := tx.ImportStatus(ctx, "ri_b")
			if s != api.RosterApplied {
				t.Errorf("status %q", s)
			}
			return err
		}))
		got, _ = st.Roster().GetImport(ctx, "ri_b")
		if !got.AppliedAt.Equal(at(31)) || string(got.Report) != `{"counts":{"added":1}}` {
			t.Errorf("applied import: %+v", got)
		}
	}},
	{"cancel: a pending import only, keeping its report", func(t *testing.T, st services.Stores) {
		ctx := context.Background()
		createImport(t, st, newImport("ri_p", api.RosterPending, at(60)))
		createImport(t, st, newImport("ri_done", api.RosterApplied, at(0)))
		must(t, st.Roster().CancelImport(ctx, "ri_p", at(5)))
		got, _ := st.Roster().GetImport(ctx, "ri_p")
		if got.Status != api.RosterCancelled || string(got.Report) != `{"counts":{}}` {
			t.Errorf("cancelled: %+v", got)
		}
		wantErr(t, "cancel twice", st.Roster().CancelImport(ctx, "ri_p", at(6)), roster.ErrNotPending)
		wantErr(t, "cancel applied", st.Roster().CancelImport(ctx, "ri_done", at(6)), roster.ErrNotPending)
		wantErr(t, "cancel unknown", st.Roster().CancelImport(ctx, "ri_none", at(6)), roster.ErrNotFound)
	}},
}
