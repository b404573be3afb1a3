package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/terminal"
)

// Terminals adapts the store to terminal.Store.
type Terminals struct{ s *Store }

// Terminals returns the office PC store.
func (s *Store) Terminals() terminal.Store { return &Terminals{s: s} }

var _ terminal.Store = (*Terminals)(nil)

const termCols = `id, name, address, rdp_port, mac, wake_addr, wake_port, department, user_id, pool, state, created_at, updated_at, segment`

func scanTerminal(row scanner) (api.Terminal, error) {
	var t api.Terminal
	var user sql.NullString
	var created, updated int64
	err := row.Scan(&t.ID, &t.Name, &t.Address, &t.RDPPort, &t.MAC, &t.WakeAddr, &t.WakePort, &t.Department,
		&user, &t.Pool, &t.State, &created, &updated, &t.Segment)
	if errors.Is(err, sql.ErrNoRows) {
		return t, terminal.ErrNotFound
	}
	t.UserID = user.String
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return t, err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// termWriteErr maps constraint failures to the package's sentinels.
func termWriteErr(err error, t api.Terminal) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err) && constraint(err) == "terminals_user_id_key":
		return fmt.Errorf("user %s: %w", t.UserID, terminal.ErrUserPaired)
	case isUnique(err):
		return fmt.Errorf("terminal %s: %w", t.ID, terminal.ErrConflict)
	case isForeignKey(err):
		return fmt.Errorf("user %s: %w", t.UserID, terminal.ErrNoUser)
	}
	return err
}

// CreateTerminal implements terminal.Store.
func (st *Terminals) CreateTerminal(ctx context.Context, t api.Terminal) error {
	_, err := st.s.db.ExecContext(ctx, `INSERT INTO terminals (`+termCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.Name, t.Address, t.RDPPort, t.MAC, t.WakeAddr, t.WakePort, t.Department, nullable(t.UserID), t.Pool,
		t.State, ms(t.CreatedAt), ms(t.UpdatedAt), segmentOr(t.Segment))
	return termWriteErr(err, t)
}

// GetTerminal implements terminal.Store.
func (st *Terminals) GetTerminal(ctx context.Context, id string) (api.Terminal, error) {
	return scanTerminal(st.s.db.QueryRowContext(ctx, `SELECT `+termCols+` FROM terminals WHERE id = ?`, id))
}

// GetTerminals implements terminal.Store.
func (st *Terminals) GetTerminals(ctx context.Context, ids []string) ([]api.Terminal, error) {
	return scanTerminals(st.s.db.QueryContext(ctx, `SELECT `+termCols+` FROM terminals WHERE id = ANY(?::text[])`, ids))
}

// TerminalForUser implements terminal.Store.
func (st *Terminals) TerminalForUser(ctx context.Context, userID string) (api.Terminal, error) {
	return scanTerminal(st.s.db.QueryRowContext(ctx, `SELECT `+termCols+` FROM terminals WHERE user_id = ?`, userID))
}

func (st *Terminals) list(ctx context.Context, where string) ([]api.Terminal, error) {
	return scanTerminals(st.s.db.QueryContext(ctx, `SELECT `+termCols+` FROM terminals `+where+` ORDER BY id`))
}

func scanTerminals(rows *sql.Rows, err error) ([]api.Terminal, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Terminal
	for rows.Next() {
		t, err := scanTerminal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ListTerminals implements terminal.Store.
func (st *Terminals) ListTerminals(ctx context.Context) ([]api.Terminal, error) {
	return st.list(ctx, "")
}

// PoolTerminals implements terminal.Store.
func (st *Terminals) PoolTerminals(ctx context.Context) ([]api.Terminal, error) {
	return st.list(ctx, "WHERE pool = 1 AND user_id IS NULL")
}

// UpdateTerminal implements terminal.Store.
func (st *Terminals) UpdateTerminal(ctx context.Context, id string, fn func(*api.Terminal) error) (api.Terminal, error) {
	var t api.Terminal
	err := st.s.Tx(ctx, func(tx *Tx) error {
		var err error
		t, err = scanTerminal(tx.QueryRowContext(ctx, `SELECT `+termCols+` FROM terminals WHERE id = ? FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE terminals SET name=?, address=?, rdp_port=?, mac=?, wake_addr=?, wake_port=?,
			department=?, user_id=?, pool=?, updated_at=?, segment=? WHERE id=?`,
			t.Name, t.Address, t.RDPPort, t.MAC, t.WakeAddr, t.WakePort, t.Department, nullable(t.UserID), t.Pool, ms(t.UpdatedAt),
			segmentOr(t.Segment), id)
		return termWriteErr(err, t)
	})
	return t, err
}

// DeleteTerminal implements terminal.Store.
func (st *Terminals) DeleteTerminal(ctx context.Context, id string) error {
	res, err := st.s.db.ExecContext(ctx, `DELETE FROM terminals WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return terminal.ErrNotFound
	}
	return nil
}

// SetTerminalState implements terminal.Store.
func (st *Terminals) SetTerminalState(ctx context.Context, id, state string, at time.Time) error {
	_, err := st.s.db.ExecContext(ctx, `UPDATE terminals SET state = ?, updated_at = ? WHERE id = ?`, state, ms(at), id)
	return err
}

// segmentOr is a PC's segment as stored: LGWAN when none was given (a
// roster or an older client that knows no segments).
func segmentOr(seg string) string {
	if seg == "" {
		return api.SegmentLGWAN
	}
	return seg
}

// ListSatelliteOffices implements terminal.Store.
func (st *Terminals) ListSatelliteOffices(ctx context.Context) ([]api.SatelliteOffice, error) {
	rows, err := st.s.db.QueryContext(ctx, `SELECT id, name, ranges, created_at, updated_at FROM satellite_offices ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.SatelliteOffice
	for rows.Next() {
		var o api.SatelliteOffice
		var ranges string
		var created, updated int64
		if err := rows.Scan(&o.ID, &o.Name, &ranges, &created, &updated); err != nil {
			return nil, err
		}
		o.Ranges = strings.Split(ranges, ",")
		o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, o)
	}
	return out, rows.Err()
}

// PutSatelliteOffice implements terminal.Store: an existing office keeps
// its creation time.
func (st *Terminals) PutSatelliteOffice(ctx context.Context, o api.SatelliteOffice) (api.SatelliteOffice, error) {
	var created int64
	err := st.s.db.QueryRowContext(ctx, `INSERT INTO satellite_offices (id, name, ranges, created_at, updated_at) VALUES (?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, ranges = excluded.ranges, updated_at = excluded.updated_at
		RETURNING created_at`, o.ID, o.Name, strings.Join(o.Ranges, ","), ms(o.CreatedAt), ms(o.UpdatedAt)).Scan(&created)
	if err != nil {
		return api.SatelliteOffice{}, err
	}
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(ms(o.UpdatedAt))
	return o, nil
}

// DeleteSatelliteOffice implements terminal.Store.
func (st *Terminals) DeleteSatelliteOffice(ctx context.Context, id string) error {
	res, err := st.s.db.ExecContext(ctx, `DELETE FROM satellite_offices WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return terminal.ErrNotFound
	}
	return nil
}
