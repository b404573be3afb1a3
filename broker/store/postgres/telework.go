package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/telework"
)

// Telework adapts the store to telework.Store.
type Telework struct{ s *Store }

// Telework returns the telework store.
func (s *Store) Telework() telework.Store { return &Telework{s} }

var _ telework.Store = (*Telework)(nil)

const twReqCols = `id, user_id, department, kind, date_from, date_to, dates, fiscal_year, half, reason, note, same_day,
	state, decided_by, stand_in, comment, created_at, decided_at`

func scanRequest(sc scanner) (api.TeleworkRequest, error) {
	var r api.TeleworkRequest
	var dates string
	var created, decided int64
	err := sc.Scan(&r.ID, &r.UserID, &r.Department, &r.Kind, &r.From, &r.To, &dates, &r.FiscalYear, &r.Half, &r.Reason,
		&r.Note, &r.SameDay, &r.State, &r.DecidedBy, &r.StandIn, &r.Comment, &created, &decided)
	if dates != "" {
		r.Dates = strings.Split(dates, ",")
	}
	r.CreatedAt, r.DecidedAt = fromMS(created), fromMS(decided)
	return r, err
}

func requestArgs(r api.TeleworkRequest) []any {
	return []any{r.ID, r.UserID, r.Department, r.Kind, r.From, r.To, strings.Join(r.Dates, ","), r.FiscalYear, r.Half,
		r.Reason, r.Note, r.SameDay, r.State, r.DecidedBy, r.StandIn, r.Comment, ms(r.CreatedAt), ms(r.DecidedAt)}
}

// CreateRequest implements telework.Store.
func (t *Telework) CreateRequest(ctx context.Context, r api.TeleworkRequest) error {
	_, err := t.s.db.ExecContext(ctx, `INSERT INTO telework_requests (`+twReqCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		requestArgs(r)...)
	if isUnique(err) {
		return telework.ErrConflict
	}
	return err
}

// GetRequest implements telework.Store.
func (t *Telework) GetRequest(ctx context.Context, id string) (api.TeleworkRequest, error) {
	r, err := scanRequest(t.s.db.QueryRowContext(ctx, `SELECT `+twReqCols+` FROM telework_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, telework.ErrNotFound
	}
	return r, err
}

// UpdateRequest implements telework.Store.
func (t *Telework) UpdateRequest(ctx context.Context, id string, fn func(r *api.TeleworkRequest) error) (api.TeleworkRequest, error) {
	var out api.TeleworkRequest
	err := t.s.Tx(ctx, func(tx *Tx) error {
		r, err := scanRequest(tx.QueryRowContext(ctx, `SELECT `+twReqCols+` FROM telework_requests WHERE id = ? FOR UPDATE`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return telework.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		r.ID = id
		args := requestArgs(r)
		if _, err := tx.ExecContext(ctx, `UPDATE telework_requests SET user_id=?, department=?, kind=?, date_from=?, date_to=?,
			dates=?, fiscal_year=?, half=?, reason=?, note=?, same_day=?, state=?, decided_by=?, stand_in=?, comment=?,
			created_at=?, decided_at=? WHERE id = ?`, append(args[1:], id)...); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// Requests implements telework.Store.
func (t *Telework) Requests(ctx context.Context, user, department, from, to string) ([]api.TeleworkRequest, error) {
	q := `SELECT ` + twReqCols + ` FROM telework_requests WHERE 1=1`
	var args []any
	if user != "" {
		q += ` AND user_id = ?`
		args = append(args, user)
	}
	if department != "" {
		q += ` AND department = ?`
		args = append(args, department)
	}
	if from != "" {
		q += ` AND date_to >= ?`
		args = append(args, from)
	}
	if to != "" {
		q += ` AND date_from <= ?`
		args = append(args, to)
	}
	rows, err := t.s.db.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.TeleworkRequest
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const twPolCols = `department, mode, hours_start, hours_end, warn_minutes, disconnect, work_start, work_end, updated_at, updated_by`

func scanPolicy(sc scanner) (api.TeleworkPolicy, error) {
	var p api.TeleworkPolicy
	var at int64
	err := sc.Scan(&p.Department, &p.Mode, &p.HoursStart, &p.HoursEnd, &p.WarnMinutes, &p.Disconnect, &p.WorkStart,
		&p.WorkEnd, &at, &p.UpdatedBy)
	p.UpdatedAt = fromMS(at)
	return p, err
}

// Policy implements telework.Store.
func (t *Telework) Policy(ctx context.Context, department string) (api.TeleworkPolicy, error) {
	p, err := scanPolicy(t.s.db.QueryRowContext(ctx, `SELECT `+twPolCols+` FROM telework_policies WHERE department = ?`, department))
	if errors.Is(err, sql.ErrNoRows) {
		return p, telework.ErrNotFound
	}
	return p, err
}

// PutPolicy implements telework.Store.
func (t *Telework) PutPolicy(ctx context.Context, p api.TeleworkPolicy) error {
	_, err := t.s.db.ExecContext(ctx, `INSERT INTO telework_policies (`+twPolCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(department) DO UPDATE SET mode=excluded.mode, hours_start=excluded.hours_start,
		hours_end=excluded.hours_end, warn_minutes=excluded.warn_minutes, disconnect=excluded.disconnect,
		work_start=excluded.work_start, work_end=excluded.work_end, updated_at=excluded.updated_at, updated_by=excluded.updated_by`,
		p.Department, p.Mode, p.HoursStart, p.HoursEnd, p.WarnMinutes, p.Disconnect, p.WorkStart, p.WorkEnd, ms(p.UpdatedAt), p.UpdatedBy)
	return err
}

// Policies implements telework.Store.
func (t *Telework) Policies(ctx context.Context) ([]api.TeleworkPolicy, error) {
	rows, err := t.s.db.QueryContext(ctx, `SELECT `+twPolCols+` FROM telework_policies ORDER BY department`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.TeleworkPolicy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PutHoliday implements telework.Store.
func (t *Telework) PutHoliday(ctx context.Context, h api.Holiday) error {
	_, err := t.s.db.ExecContext(ctx, `INSERT INTO telework_holidays (date, name, kind) VALUES (?,?,?)
		ON CONFLICT(date) DO UPDATE SET name=excluded.name, kind=excluded.kind`, h.Date, h.Name, h.Kind)
	return err
}

// DeleteHoliday implements telework.Store.
func (t *Telework) DeleteHoliday(ctx context.Context, date string) error {
	res, err := t.s.db.ExecContext(ctx, `DELETE FROM telework_holidays WHERE date = ?`, date)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return telework.ErrNotFound
	}
	return nil
}

// Holidays implements telework.Store.
func (t *Telework) Holidays(ctx context.Context, from, to string) ([]api.Holiday, error) {
	if to == "" {
		to = "9999-12-31"
	}
	rows, err := t.s.db.QueryContext(ctx, `SELECT date, name, kind FROM telework_holidays WHERE date >= ? AND date <= ? ORDER BY date`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Holiday
	for rows.Next() {
		var h api.Holiday
		if err := rows.Scan(&h.Date, &h.Name, &h.Kind); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// SetApprovers implements telework.Store.
func (t *Telework) SetApprovers(ctx context.Context, department string, users []string) error {
	return t.s.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM telework_approvers WHERE department = ?`, department); err != nil {
			return err
		}
		for _, u := range users {
			if _, err := tx.ExecContext(ctx, `INSERT INTO telework_approvers (department, user_id) VALUES (?,?) ON CONFLICT DO NOTHING`, department, u); err != nil {
				return err
			}
		}
		return nil
	})
}

// Approvers implements telework.Store.
func (t *Telework) Approvers(ctx context.Context, department string) ([]string, error) {
	return t.strings(ctx, `SELECT user_id FROM telework_approvers WHERE department = ? ORDER BY user_id`, department)
}

func (t *Telework) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := t.s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PutStandIn implements telework.Store.
func (t *Telework) PutStandIn(ctx context.Context, s telework.StandIn) error {
	_, err := t.s.db.ExecContext(ctx, `INSERT INTO telework_standins (approver, stand_in, date_from, date_to) VALUES (?,?,?,?)
		ON CONFLICT(approver) DO UPDATE SET stand_in=excluded.stand_in, date_from=excluded.date_from, date_to=excluded.date_to`,
		s.Approver, s.StandIn, s.From, s.To)
	return err
}

// StandIns implements telework.Store.
func (t *Telework) StandIns(ctx context.Context, approvers []string) ([]telework.StandIn, error) {
	if len(approvers) == 0 {
		return nil, nil
	}
	args := make([]any, len(approvers))
	for i, a := range approvers {
		args[i] = a
	}
	rows, err := t.s.db.QueryContext(ctx, `SELECT approver, stand_in, date_from, date_to FROM telework_standins
		WHERE approver IN (?`+strings.Repeat(",?", len(approvers)-1)+`) ORDER BY approver`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []telework.StandIn
	for rows.Next() {
		var s telework.StandIn
		if err := rows.Scan(&s.Approver, &s.StandIn, &s.From, &s.To); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PutDay implements telework.Store.
func (t *Telework) PutDay(ctx context.Context, d telework.Day) error {
	_, err := t.s.db.ExecContext(ctx, `INSERT INTO telework_days (user_id, date, place, start_at, end_at) VALUES (?,?,?,?,?)
		ON CONFLICT(user_id, date) DO UPDATE SET place=excluded.place, start_at=excluded.start_at, end_at=excluded.end_at`,
		d.UserID, d.Date, d.Place, ms(d.Start), ms(d.End))
	return err
}

func scanDay(sc scanner) (telework.Day, error) {
	var d telework.Day
	var st, en int64
	err := sc.Scan(&d.UserID, &d.Date, &d.Place, &st, &en)
	d.Start, d.End = fromMS(st), fromMS(en)
	return d, err
}

// Day implements telework.Store.
func (t *Telework) Day(ctx context.Context, user, date string) (telework.Day, error) {
	d, err := scanDay(t.s.db.QueryRowContext(ctx, `SELECT user_id, date, place, start_at, end_at FROM telework_days
		WHERE user_id = ? AND date = ?`, user, date))
	if errors.Is(err, sql.ErrNoRows) {
		return d, telework.ErrNotFound
	}
	return d, err
}

// Days implements telework.Store.
func (t *Telework) Days(ctx context.Context, from, to string) ([]telework.Day, error) {
	rows, err := t.s.db.QueryContext(ctx, `SELECT user_id, date, place, start_at, end_at FROM telework_days
		WHERE date >= ? AND date <= ? ORDER BY date, user_id`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []telework.Day
	for rows.Next() {
		d, err := scanDay(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Sessions implements telework.Store from the slots' own tables: the
// history of ended slots and the live granted ones, so that the
// working-time record cannot drift from what the slots did.
func (t *Telework) Sessions(ctx context.Context, from, to time.Time) ([]telework.Session, error) {
	rows, err := t.s.db.QueryContext(ctx, `SELECT user_id, granted_at, ended_at FROM slot_history
			WHERE granted_at > 0 AND granted_at < ? AND ended_at > ?
		UNION ALL
		SELECT user_id, granted_at, 0 FROM slots WHERE state = 'granted' AND granted_at > 0 AND granted_at < ?
		ORDER BY 2, 1`, ms(to), ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("telework sessions: %w", err)
	}
	defer rows.Close()
	var out []telework.Session
	for rows.Next() {
		var x telework.Session
		var st, en int64
		if err := rows.Scan(&x.UserID, &st, &en); err != nil {
			return nil, err
		}
		x.Start, x.End = fromMS(st), fromMS(en)
		out = append(out, x)
	}
	return out, rows.Err()
}
