package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// Slots adapts the store to slots.Store.
type Slots struct{ s *Store }

// Slots returns the slots store.
func (s *Store) Slots() slots.Store { return &Slots{s} }

var _ slots.Store = (*Slots)(nil)

const slotCols = `id, user_id, state, queue_seq, terminal_id, device, requested_at, granted_at, lease_until,
	last_active_at, warned, bytes_up, bytes_down, session_id, device_id`

// LoadSlots implements slots.Store, in request order.
func (st *Slots) LoadSlots(ctx context.Context) ([]slots.Record, error) {
	rows, err := st.s.db.QueryContext(ctx, `SELECT `+slotCols+`, broker FROM slots ORDER BY queue_seq`)
	if err != nil {
		return nil, err
	}
	return scanSlots(rows)
}

// scanSlots reads rows of slotCols and broker.
func scanSlots(rows *sql.Rows) ([]slots.Record, error) {
	defer rows.Close()
	var out []slots.Record
	for rows.Next() {
		var r slots.Record
		var req, granted, lease, active int64
		if err := rows.Scan(&r.ID, &r.UserID, &r.State, &r.QueueSeq, &r.TerminalID, &r.Device, &req, &granted, &lease,
			&active, &r.Warned, &r.BytesUp, &r.BytesDown, &r.SessionID, &r.DeviceID, &r.Broker); err != nil {
			return nil, err
		}
		r.RequestedAt, r.GrantedAt, r.LeaseUntil, r.LastActiveAt = fromMS(req), fromMS(granted), fromMS(lease), fromMS(active)
		out = append(out, r)
	}
	return out, rows.Err()
}

// LoadConfig implements slots.Store.
func (st *Slots) LoadConfig(ctx context.Context) (api.SlotConfig, error) {
	return loadConfig(ctx, st.s.db)
}

func loadConfig(ctx context.Context, q rowQuerier) (api.SlotConfig, error) {
	var c api.SlotConfig
	var at int64
	r := &c.RDP
	err := q.QueryRowContext(ctx, `SELECT cap, idle_minutes, max_minutes, warn_minutes, updated_at, updated_by,
		rdp_clipboard, rdp_drives, rdp_printers, rdp_smart_cards, rdp_usb, rdp_audio
		FROM slot_config WHERE id = 1`).Scan(&c.Cap, &c.IdleMinutes, &c.MaxMinutes, &c.WarnMinutes, &at, &c.UpdatedBy,
		&r.Clipboard, &r.Drives, &r.Printers, &r.SmartCards, &r.USB, &r.Audio)
	if errors.Is(err, sql.ErrNoRows) {
		return c, slots.ErrNoConfig
	}
	c.UpdatedAt = fromMS(at)
	return c, err
}

// RecentLengths implements slots.Store.
func (st *Slots) RecentLengths(ctx context.Context, n int) ([]time.Duration, error) {
	rows, err := st.s.db.QueryContext(ctx, `SELECT ended_at - granted_at FROM slot_history
		WHERE granted_at > 0 ORDER BY ended_at DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, time.Duration(d)*time.Millisecond)
	}
	// Oldest first, as the manager's ring expects.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// ApplySlots implements slots.Store: one transaction, ops in order.
func (st *Slots) ApplySlots(ctx context.Context, ops []slots.Op) error {
	return st.s.Tx(ctx, func(tx *Tx) error {
		const put = `INSERT INTO slots (` + slotCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET state=excluded.state, terminal_id=excluded.terminal_id,
			session_id=excluded.session_id, device_id=excluded.device_id,
			granted_at=excluded.granted_at, lease_until=excluded.lease_until, last_active_at=excluded.last_active_at,
			warned=excluded.warned, bytes_up=excluded.bytes_up, bytes_down=excluded.bytes_down`
		for _, op := range ops {
			if err := applyOp(ctx, tx, put, op); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyOp writes one op as SQLite's single broker does (ApplySlots).
func applyOp(ctx context.Context, tx *Tx, put string, op slots.Op) error {
	switch {
	case op.Put != nil:
		r := op.Put
		if _, err := tx.ExecContext(ctx, put, r.ID, r.UserID, r.State, r.QueueSeq, r.TerminalID, r.Device, ms(r.RequestedAt),
			ms(r.GrantedAt), ms(r.LeaseUntil), ms(r.LastActiveAt), r.Warned, r.BytesUp, r.BytesDown,
			r.SessionID, r.DeviceID); err != nil {
			return fmt.Errorf("put slot %s: %w", r.ID, err)
		}
	case op.End != nil:
		e := op.End
		if _, err := tx.ExecContext(ctx, `DELETE FROM slots WHERE id = ?`, e.ID); err != nil {
			return fmt.Errorf("end slot %s: %w", e.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO slot_history (id, user_id, terminal_id, device, requested_at,
			granted_at, ended_at, reason, bytes_up, bytes_down) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			e.ID, e.UserID, e.TerminalID, e.Device, ms(e.RequestedAt), ms(e.GrantedAt), ms(e.EndedAt), e.Reason,
			e.BytesUp, e.BytesDown); err != nil {
			return fmt.Errorf("slot history %s: %w", e.ID, err)
		}
	case op.Bytes != nil:
		if _, err := tx.ExecContext(ctx, `UPDATE slot_history SET bytes_up = bytes_up + ?, bytes_down = bytes_down + ?
			WHERE id = ?`, op.Bytes.Up, op.Bytes.Down, op.Bytes.SlotID); err != nil {
			return fmt.Errorf("late bytes of slot %s: %w", op.Bytes.SlotID, err)
		}
	case op.Terminal != nil:
		if _, err := tx.ExecContext(ctx, `UPDATE terminals SET state = ?, updated_at = ? WHERE id = ?`,
			op.Terminal.State, ms(op.Terminal.At), op.Terminal.TerminalID); err != nil {
			return fmt.Errorf("office pc state %s: %w", op.Terminal.TerminalID, err)
		}
	case op.BCP != nil:
		if err := putBCP(ctx, tx, op.BCP); err != nil {
			return err
		}
	case op.Config != nil:
		c := op.Config
		r := c.RDP
		if _, err := tx.ExecContext(ctx, `INSERT INTO slot_config (id, cap, idle_minutes, max_minutes, warn_minutes,
			updated_at, updated_by, rdp_clipboard, rdp_drives, rdp_printers, rdp_smart_cards, rdp_usb, rdp_audio)
			VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET cap=excluded.cap,
			idle_minutes=excluded.idle_minutes, max_minutes=excluded.max_minutes, warn_minutes=excluded.warn_minutes,
			updated_at=excluded.updated_at, updated_by=excluded.updated_by,
			rdp_clipboard=excluded.rdp_clipboard, rdp_drives=excluded.rdp_drives, rdp_printers=excluded.rdp_printers,
			rdp_smart_cards=excluded.rdp_smart_cards, rdp_usb=excluded.rdp_usb, rdp_audio=excluded.rdp_audio`,
			c.Cap, c.IdleMinutes, c.MaxMinutes, c.WarnMinutes, ms(c.UpdatedAt), c.UpdatedBy,
			r.Clipboard, r.Drives, r.Printers, r.SmartCards, r.USB, r.Audio); err != nil {
			return fmt.Errorf("slot config: %w", err)
		}
	}
	return nil
}

// EndRequests implements slots.Store.
func (st *Slots) EndRequests(ctx context.Context) ([]slots.EndRequest, error) {
	rows, err := st.s.db.QueryContext(ctx, `SELECT slot_id, actor, reason, created_at FROM slot_end_requests ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []slots.EndRequest
	for rows.Next() {
		var r slots.EndRequest
		var at int64
		if err := rows.Scan(&r.SlotID, &r.Actor, &r.Reason, &at); err != nil {
			return nil, err
		}
		r.At = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddEndRequest implements slots.Store; the slot must exist.
func (st *Slots) AddEndRequest(ctx context.Context, r slots.EndRequest) error {
	return st.s.Tx(ctx, func(tx *Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM slots WHERE id = ?`, r.SlotID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return api.Err(api.CodeSlotNotFound, r.SlotID)
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO slot_end_requests (slot_id, actor, reason, created_at) VALUES (?,?,?,?)
			ON CONFLICT(slot_id) DO NOTHING`, r.SlotID, r.Actor, r.Reason, ms(r.At))
		return err
	})
}

// DeleteEndRequest implements slots.Store.
func (st *Slots) DeleteEndRequest(ctx context.Context, slotID string) error {
	_, err := st.s.db.ExecContext(ctx, `DELETE FROM slot_end_requests WHERE slot_id = ?`, slotID)
	return err
}

// LiveSlots lists the stored live slots with user names (the CLI's view
// when it runs beside the broker).
func (st *Slots) LiveSlots(ctx context.Context) ([]api.Slot, error) {
	recs, err := st.LoadSlots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Slot, 0, len(recs))
	for _, r := range recs {
		v := api.Slot{ID: r.ID, UserID: r.UserID, State: r.State, RequestedAt: r.RequestedAt, GrantedAt: r.GrantedAt,
			LeaseUntil: r.LeaseUntil, LastActiveAt: r.LastActiveAt, BytesUp: r.BytesUp, BytesDown: r.BytesDown}
		if r.TerminalID != "" {
			v.Terminal = &api.PairedTerminal{ID: r.TerminalID}
		}
		_ = st.s.db.QueryRowContext(ctx, `SELECT name, department FROM users WHERE id = ?`, r.UserID).Scan(&v.UserName, &v.Department)
		out = append(out, v)
	}
	return out, nil
}
