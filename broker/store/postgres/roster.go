package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/roster"
	"github.com/zaitaku/zaitaku/broker/terminal"
)

// Roster adapts the store to roster.Store: the users and office PCs the
// import reads and writes in one transaction, and the imports.
type Roster struct{ s *Store }

// Roster returns the roster import store.
func (s *Store) Roster() roster.Store { return &Roster{s} }

var _ roster.Store = (*Roster)(nil)

// rosterTx is one transaction: for Update one that holds the roster lock
// (imports, even from two brokers, apply one after the other, as on
// SQLite's one writer), for View a read-only snapshot (REPEATABLE READ),
// so that a dry run of 10,000 lines holds up no one's writes.
type rosterTx struct{ tx *Tx }

// View implements roster.Store.
func (r *Roster) View(ctx context.Context, fn func(roster.Tx) error) error {
	tx, err := r.s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return fn(rosterTx{&Tx{tx}})
}

// Update implements roster.Store.
func (r *Roster) Update(ctx context.Context, fn func(roster.Tx) error) error {
	return r.s.Tx(ctx, func(tx *Tx) error {
		if err := tx.lock(ctx, "roster"); err != nil {
			return err
		}
		return fn(rosterTx{tx})
	})
}

func (t rosterTx) Users(ctx context.Context) ([]auth.UserRecord, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.UserRecord
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (t rosterTx) Terminals(ctx context.Context) ([]api.Terminal, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+termCols+` FROM terminals ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Terminal
	for rows.Next() {
		pc, err := scanTerminal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	return out, rows.Err()
}

func (t rosterTx) CreateUser(ctx context.Context, u auth.UserRecord) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.Name, u.Department, rolesString(u.Roles), u.Email, u.PasswordHash, u.MustChangePassword, u.Disabled,
		u.TOTPSecret, u.TOTPEnrolled, u.TOTPLastCounter, u.Demo, ms(u.CreatedAt), ms(u.UpdatedAt), u.Kana)
	if isUnique(err) {
		return fmt.Errorf("user %s: %w", u.ID, auth.ErrConflict)
	}
	return err
}

func (t rosterTx) UpdateUser(ctx context.Context, u auth.UserRecord) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE users SET name=?, department=?, roles=?, email=?, password_hash=?,
		must_change_password=?, disabled=?, totp_secret=?, totp_enrolled=?, totp_last_counter=?, demo=?, updated_at=?,
		kana=? WHERE id=?`, u.Name, u.Department, rolesString(u.Roles), u.Email, u.PasswordHash, u.MustChangePassword,
		u.Disabled, u.TOTPSecret, u.TOTPEnrolled, u.TOTPLastCounter, u.Demo, ms(u.UpdatedAt), u.Kana, u.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", u.ID, auth.ErrNotFound)
	}
	return nil
}

func (t rosterTx) CreateTerminal(ctx context.Context, pc api.Terminal) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO terminals (`+termCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		pc.ID, pc.Name, pc.Address, pc.RDPPort, pc.MAC, pc.WakeAddr, pc.WakePort, pc.Department, nullable(pc.UserID), pc.Pool,
		pc.State, ms(pc.CreatedAt), ms(pc.UpdatedAt), segmentOr(pc.Segment))
	return termWriteErr(err, pc)
}

func (t rosterTx) UpdateTerminal(ctx context.Context, pc api.Terminal) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE terminals SET name=?, address=?, rdp_port=?, mac=?, wake_addr=?, wake_port=?,
		department=?, user_id=?, pool=?, updated_at=?, segment=? WHERE id=?`,
		pc.Name, pc.Address, pc.RDPPort, pc.MAC, pc.WakeAddr, pc.WakePort, pc.Department, nullable(pc.UserID), pc.Pool,
		ms(pc.UpdatedAt), segmentOr(pc.Segment), pc.ID)
	if err != nil {
		return termWriteErr(err, pc)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("terminal %s: %w", pc.ID, terminal.ErrNotFound)
	}
	return nil
}

const importCols = `id, actor, limited, department, file_name, encoding, csv, effective, effective_at, disable_missing,
	status, report, created_at, applied_at`

func (t rosterTx) CreateImport(ctx context.Context, imp roster.Import) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO roster_imports (`+importCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		imp.ID, imp.Actor, imp.Limited, imp.Department, imp.FileName, imp.Encoding, imp.CSV, imp.Effective,
		ms(imp.EffectiveAt), imp.DisableMissing, imp.Status, string(imp.Report), ms(imp.CreatedAt), ms(imp.AppliedAt))
	return err
}

func (t rosterTx) ImportStatus(ctx context.Context, id string) (string, error) {
	var st string
	err := t.tx.QueryRowContext(ctx, `SELECT status FROM roster_imports WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", roster.ErrNotFound
	}
	return st, err
}

func (t rosterTx) FinishImport(ctx context.Context, id, status string, report []byte, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE roster_imports SET status = ?, report = ?, applied_at = ? WHERE id = ?`,
		status, string(report), ms(at), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return roster.ErrNotFound
	}
	return nil
}

func scanImport(row scanner) (roster.Import, error) {
	var imp roster.Import
	var report string
	var eff, created, applied int64
	err := row.Scan(&imp.ID, &imp.Actor, &imp.Limited, &imp.Department, &imp.FileName, &imp.Encoding, &imp.CSV,
		&imp.Effective, &eff, &imp.DisableMissing, &imp.Status, &report, &created, &applied)
	if errors.Is(err, sql.ErrNoRows) {
		return imp, roster.ErrNotFound
	}
	imp.Report = []byte(report)
	if report == "" {
		imp.Report = nil
	}
	imp.EffectiveAt, imp.CreatedAt, imp.AppliedAt = fromMS(eff), fromMS(created), fromMS(applied)
	return imp, err
}

func (r *Roster) imports(ctx context.Context, q string, args ...any) ([]roster.Import, error) {
	rows, err := r.s.db.QueryContext(ctx, `SELECT `+importCols+` FROM roster_imports `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []roster.Import
	for rows.Next() {
		imp, err := scanImport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, imp)
	}
	return out, rows.Err()
}

// GetImport implements roster.Store.
func (r *Roster) GetImport(ctx context.Context, id string) (roster.Import, error) {
	return scanImport(r.s.db.QueryRowContext(ctx, `SELECT `+importCols+` FROM roster_imports WHERE id = ?`, id))
}

// ListImports implements roster.Store.
func (r *Roster) ListImports(ctx context.Context, limit int) ([]roster.Import, error) {
	return r.imports(ctx, `ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
}

// DueImports implements roster.Store.
func (r *Roster) DueImports(ctx context.Context, at time.Time) ([]roster.Import, error) {
	return r.imports(ctx, `WHERE status = ? AND effective_at <= ? ORDER BY effective_at, created_at, id`, api.RosterPending, ms(at))
}

// CancelImport implements roster.Store.
func (r *Roster) CancelImport(ctx context.Context, id string, at time.Time) error {
	return r.s.Tx(ctx, func(tx *Tx) error {
		if err := tx.lock(ctx, "roster"); err != nil {
			return err
		}
		st, err := rosterTx{tx}.ImportStatus(ctx, id)
		if err != nil {
			return err
		}
		if st != api.RosterPending {
			return fmt.Errorf("roster import %s is %s: %w", id, st, roster.ErrNotPending)
		}
		// The report of what it would have done stays, as the record.
		_, err = tx.ExecContext(ctx, `UPDATE roster_imports SET status = ?, applied_at = ? WHERE id = ?`, api.RosterCancelled, ms(at), id)
		return err
	})
}
