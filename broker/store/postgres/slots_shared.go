// The concurrency cap decided in the database, for several brokers on
// one database (slots.Ledger): every broker's batch of slot changes runs
// in one transaction under one advisory lock, which counts the granted
// rows against the cap in force and grants the queue head by the
// database-wide queue number.

package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/slots"
)

var _ slots.Ledger = (*Slots)(nil)

// slotsChannel is the NOTIFY channel of committed slot decisions; the
// payload is the deciding broker's name (its own notifications are
// ignored).
const slotsChannel = "zaitaku_slots"

// Decide implements slots.Ledger.
func (st *Slots) Decide(ctx context.Context, ops []slots.Op, d slots.Decision) (slots.Outcome, error) {
	var out slots.Outcome
	if d.Light {
		// Renewals only (row updates that never change a state): no
		// lock, nothing granted, nothing read back.
		return slots.Outcome{Partial: true, Ended: map[string]string{}}, st.s.Tx(ctx, func(tx *Tx) error {
			for _, op := range ops {
				if _, err := st.decideOp(ctx, tx, op, &out); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := st.s.Tx(ctx, func(tx *Tx) error {
		out = slots.Outcome{Ended: map[string]string{}}
		// One decider at a time across brokers: the count below and the
		// grants after it cannot interleave with another broker's.
		if err := tx.lock(ctx, "slots.cap"); err != nil {
			return err
		}
		changed := false
		// Runs of new requests go in as one statement (a nine o'clock
		// batch holds hundreds), in order; the ops around them keep
		// their place.
		var fresh []*slots.Record
		flush := func() error {
			if len(fresh) == 0 {
				return nil
			}
			c, err := st.request(ctx, tx, fresh, &out)
			fresh = nil
			changed = changed || c
			return err
		}
		for _, op := range ops {
			if op.Put != nil && op.Put.QueueSeq == 0 {
				fresh = append(fresh, op.Put)
				continue
			}
			if err := flush(); err != nil {
				return err
			}
			c, err := st.decideOp(ctx, tx, op, &out)
			if err != nil {
				return err
			}
			changed = changed || c
		}
		if err := flush(); err != nil {
			return err
		}
		pol, err := loadConfig(ctx, tx)
		if err == nil {
			out.Policy = &pol
		} else if !errors.Is(err, slots.ErrNoConfig) {
			return err
		}
		if out.BCP, err = loadBCP(ctx, tx); err != nil {
			return err
		}
		prio, args := priorityOrder(out.BCP)
		capN := d.DefaultCap
		if out.Policy != nil {
			capN = out.Policy.Cap
		}
		if out.BCP.Active && out.BCP.Cap > capN {
			capN = out.BCP.Cap // what slots.Manager calls capLocked
		}
		if err := grantHeads(ctx, tx, d, capN, prio, args, &out); err != nil {
			return err
		}
		if err := readLive(ctx, tx, d, prio, args, &out); err != nil {
			return err
		}
		if changed || len(out.Granted) > 0 {
			// Delivered on commit, to every other broker's listener.
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, slotsChannel, d.Broker); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// readLive reads what Decide answers with: the changes since d.Since
// (the change feed: slot_version, migration 0211), or every live slot in
// service order when the broker asks for a full read or BCP mode is on
// (its priority orders by each user's department and roles). Under the
// ledger's lock every decider before this one has committed, so no
// version up to the highest read is still to come from one of them.
func readLive(ctx context.Context, tx *Tx, d slots.Decision, prio string, args []any, out *slots.Outcome) error {
	if d.Since > 0 && !out.BCP.Active {
		out.Delta, out.Version, out.Gone = true, d.Since, map[string]string{}
		rows, err := tx.QueryContext(ctx, `SELECT `+slotCols+`, broker, slot_version FROM slots WHERE slot_version > ?`, d.Since)
		if err != nil {
			return err
		}
		if out.Live, err = scanSlotVersions(rows, &out.Version); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT id, reason, slot_version FROM slot_history WHERE slot_version > ?`, d.Since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, reason string
			var v int64
			if err := rows.Scan(&id, &reason, &v); err != nil {
				return err
			}
			out.Gone[id] = reason
			out.Version = max(out.Version, v)
		}
		return rows.Err()
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+prefixed("s.", slotCols)+`, s.broker, s.slot_version FROM slots s
		LEFT JOIN users u ON u.id = s.user_id
		ORDER BY (s.state = 'granted') DESC, CASE WHEN s.state = 'granted' THEN s.queue_seq ELSE 0 END,
		`+prio+`s.queue_seq`, args...)
	if err != nil {
		return err
	}
	if out.Live, err = scanSlotVersions(rows, &out.Version); err != nil {
		return err
	}
	// The ends so far are in this read (their slots are not): the feed
	// goes on from the latest of them.
	var ended int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(slot_version), 0) FROM slot_history WHERE slot_version > 0`).Scan(&ended); err != nil {
		return err
	}
	out.Version = max(out.Version, ended)
	return nil
}

// scanSlotVersions is scanSlots of rows with the version last, raising
// *version to the highest.
func scanSlotVersions(rows *sql.Rows, version *int64) ([]slots.Record, error) {
	defer rows.Close()
	var out []slots.Record
	for rows.Next() {
		var r slots.Record
		var req, granted, lease, active, v int64
		if err := rows.Scan(&r.ID, &r.UserID, &r.State, &r.QueueSeq, &r.TerminalID, &r.Device, &req, &granted, &lease,
			&active, &r.Warned, &r.BytesUp, &r.BytesDown, &r.SessionID, &r.DeviceID, &r.Broker, &v); err != nil {
			return nil, err
		}
		r.RequestedAt, r.GrantedAt, r.LeaseUntil, r.LastActiveAt = fromMS(req), fromMS(granted), fromMS(lease), fromMS(active)
		*version = max(*version, v)
		out = append(out, r)
	}
	return out, rows.Err()
}

// request inserts new requests numbered in their order from the queue
// sequence; one put again before its batch committed (the same ID) goes
// in once, with its latest figures. A request not inserted is either in
// already (updated as a heartbeat) or refused: the user has a slot.
func (st *Slots) request(ctx context.Context, tx *Tx, recs []*slots.Record, out *slots.Outcome) (bool, error) {
	last := map[string]int{}
	for i, r := range recs {
		last[r.ID] = i
	}
	var ids, users, terms, devices, warned, sessions, deviceIDs, brokers []string
	var req, lease, active, up, down []int64
	for i, r := range recs {
		if last[r.ID] != i {
			continue
		}
		ids, users, terms, devices = append(ids, r.ID), append(users, r.UserID), append(terms, r.TerminalID), append(devices, r.Device)
		req, lease, active = append(req, ms(r.RequestedAt)), append(lease, ms(r.LeaseUntil)), append(active, ms(r.LastActiveAt))
		warned, up, down = append(warned, r.Warned), append(up, r.BytesUp), append(down, r.BytesDown)
		sessions, deviceIDs, brokers = append(sessions, r.SessionID), append(deviceIDs, r.DeviceID), append(brokers, r.Broker)
	}
	// OFFSET 0 keeps the ordered subquery apart, so that nextval is
	// taken in the requests' order.
	rows, err := tx.QueryContext(ctx, `INSERT INTO slots (`+slotCols+`, broker)
		SELECT id, user_id, 'queued', nextval('slot_queue_seq'), terminal_id, device, requested_at, 0, lease_until,
			last_active_at, warned, bytes_up, bytes_down, session_id, device_id, broker
		FROM (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[],
			?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY
			AS x(id, user_id, terminal_id, device, requested_at, lease_until, last_active_at, warned, bytes_up, bytes_down,
				session_id, device_id, broker, ord)
			ORDER BY ord OFFSET 0) x
		ON CONFLICT DO NOTHING RETURNING id`,
		ids, users, terms, devices, req, lease, active, warned, up, down, sessions, deviceIDs, brokers)
	if err != nil {
		return false, fmt.Errorf("requests: %w", err)
	}
	in := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, err
		}
		in[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for i, r := range recs {
		if last[r.ID] != i || in[r.ID] {
			continue
		}
		if _, err := st.decideOp(ctx, tx, slots.Op{Put: r}, out); err != nil {
			return false, err
		}
	}
	return len(in) > 0, nil
}

// decideOp applies one op the shared way (see slots.Ledger.Decide) and
// reports whether it changed anything other brokers should know of.
func (st *Slots) decideOp(ctx context.Context, tx *Tx, op slots.Op, out *slots.Outcome) (bool, error) {
	switch {
	case op.Put != nil:
		r := op.Put
		if r.QueueSeq == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `INSERT INTO slots (`+slotCols+`, broker) VALUES
				(?,?,'queued',nextval('slot_queue_seq'),?,?,?,0,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING 1`,
				r.ID, r.UserID, r.TerminalID, r.Device, ms(r.RequestedAt), ms(r.LeaseUntil), ms(r.LastActiveAt),
				r.Warned, r.BytesUp, r.BytesDown, r.SessionID, r.DeviceID, r.Broker).Scan(&one)
			if err == nil {
				return true, nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return false, fmt.Errorf("request slot %s: %w", r.ID, err)
			}
			// Either this request is already in (put again before its
			// batch committed) or the user has another slot.
		}
		res, err := tx.ExecContext(ctx, `UPDATE slots SET session_id = ?, device_id = ?, broker = ?,
			lease_until = GREATEST(lease_until, ?), last_active_at = GREATEST(last_active_at, ?), warned = ?,
			bytes_up = GREATEST(bytes_up, ?), bytes_down = GREATEST(bytes_down, ?) WHERE id = ?`,
			r.SessionID, r.DeviceID, r.Broker, ms(r.LeaseUntil), ms(r.LastActiveAt), r.Warned, r.BytesUp, r.BytesDown, r.ID)
		if err != nil {
			return false, fmt.Errorf("put slot %s: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 && r.QueueSeq == 0 {
			out.Refused = append(out.Refused, r.ID)
		}
		// A heartbeat is no news to other brokers.
		return false, nil
	case op.End != nil:
		e := op.End
		// The row as the database holds it: another broker may have
		// granted it since this one looked.
		var granted, up, down int64
		var term string
		err := tx.QueryRowContext(ctx, `DELETE FROM slots WHERE id = ? RETURNING granted_at, terminal_id, bytes_up, bytes_down`,
			e.ID).Scan(&granted, &term, &up, &down)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // ended already (elsewhere, or by a lapsed lease)
		} else if err != nil {
			return false, fmt.Errorf("end slot %s: %w", e.ID, err)
		}
		if err := endHistory(ctx, tx, e.ID, e.UserID, term, e.Device, ms(e.RequestedAt), granted, ms(e.EndedAt), e.Reason,
			max(up, e.BytesUp), max(down, e.BytesDown)); err != nil {
			return false, err
		}
		out.Ended[e.ID] = e.Reason
		return true, nil
	case op.Lapsed != nil:
		at := ms(*op.Lapsed)
		rows, err := tx.QueryContext(ctx, `DELETE FROM slots WHERE lease_until <= ?
			RETURNING id, user_id, terminal_id, device, requested_at, granted_at, bytes_up, bytes_down`, at)
		if err != nil {
			return false, fmt.Errorf("lapsed leases: %w", err)
		}
		type lapsed struct {
			id, user, term, device string
			req, granted, up, down int64
		}
		var ls []lapsed
		for rows.Next() {
			var l lapsed
			if err := rows.Scan(&l.id, &l.user, &l.term, &l.device, &l.req, &l.granted, &l.up, &l.down); err != nil {
				rows.Close()
				return false, err
			}
			ls = append(ls, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, err
		}
		for _, l := range ls {
			if err := endHistory(ctx, tx, l.id, l.user, l.term, l.device, l.req, l.granted, at, api.EndLease, l.up, l.down); err != nil {
				return false, err
			}
			out.Ended[l.id] = api.EndLease
		}
		return len(ls) > 0, nil
	}
	// Policy, BCP mode, PC states and late bytes are written as on one
	// broker; other brokers adopt policy and BCP mode on their sweep.
	return op.Config != nil || op.BCP != nil, applyOp(ctx, tx, "", op)
}

func endHistory(ctx context.Context, tx *Tx, id, user, term, device string, req, granted, ended int64, reason string, up, down int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO slot_history (id, user_id, terminal_id, device, requested_at,
		granted_at, ended_at, reason, bytes_up, bytes_down) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`,
		id, user, term, device, req, granted, ended, reason, up, down); err != nil {
		return fmt.Errorf("slot history %s: %w", id, err)
	}
	return nil
}

// priorityOrder is the ORDER BY term of BCP priority over slots s joined
// with users u (priority first; empty while BCP mode is off), and its
// arguments as ?1 and ?2: the department or a role on BCP mode's lists.
func priorityOrder(b api.BCP) (string, []any) {
	if !b.Active {
		return "", nil
	}
	ds, rs := []string{}, []string{}
	ds = append(ds, b.Departments...)
	for _, r := range b.Roles {
		rs = append(rs, string(r))
	}
	return `COALESCE(u.department = ANY(?1::text[]) OR string_to_array(u.roles, ',') && ?2::text[], false) DESC, `, []any{ds, rs}
}

// grantHeads grants queued slots in service order while the granted
// count is under capN; a pool user (no PC of their own) only with a free
// pool PC, and those behind with their own PC are not held up by them.
func grantHeads(ctx context.Context, tx *Tx, d slots.Decision, capN int, prio string, args []any, out *slots.Outcome) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM slots WHERE state = 'granted'`).Scan(&n); err != nil {
		return err
	}
	free := capN - n
	if free <= 0 {
		return nil
	}
	var pool []string // free pool PCs, read when a pool user is met
	poolRead := false
	at := d.Now()
	for offset := 0; free > 0; {
		page := free + 32
		// The page's placeholders follow the priority's (?1, ?2) if any.
		page1 := fmt.Sprintf("?%d", len(args)+1)
		page2 := fmt.Sprintf("?%d", len(args)+2)
		rows, err := tx.QueryContext(ctx, `SELECT s.id, s.terminal_id FROM slots s LEFT JOIN users u ON u.id = s.user_id
			WHERE s.state = 'queued' ORDER BY `+prio+`s.queue_seq LIMIT `+page1+` OFFSET `+page2,
			append(append([]any{}, args...), page, offset)...)
		if err != nil {
			return err
		}
		type cand struct{ id, term string }
		var cs []cand
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.id, &c.term); err != nil {
				rows.Close()
				return err
			}
			cs = append(cs, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		skipped := 0
		var own []string // granted to their own PC: one statement below
		for _, c := range cs {
			if free == 0 {
				break
			}
			term := c.term
			if term != "" {
				own = append(own, c.id)
				out.Granted = append(out.Granted, c.id)
				free--
				continue
			}
			// A pool user: the first free pool PC, or wait.
			if !poolRead {
				if pool, err = freePool(ctx, tx); err != nil {
					return err
				}
				poolRead = true
			}
			if len(pool) == 0 {
				skipped++
				continue
			}
			term, pool = pool[0], pool[1:]
			if _, err := tx.ExecContext(ctx, `UPDATE slots SET state = 'granted', granted_at = ?, last_active_at = ?,
				lease_until = ?, terminal_id = ? WHERE id = ?`, ms(at), ms(at), ms(at.Add(d.Lease)), term, c.id); err != nil {
				return fmt.Errorf("grant slot %s: %w", c.id, err)
			}
			out.Granted = append(out.Granted, c.id)
			free--
		}
		if len(own) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE slots SET state = 'granted', granted_at = ?, last_active_at = ?,
				lease_until = ? WHERE id = ANY(?::text[])`, ms(at), ms(at), ms(at.Add(d.Lease)), own); err != nil {
				return fmt.Errorf("grant slots: %w", err)
			}
		}
		if len(cs) < page {
			break
		}
		// The granted rows left the queue; the skipped ones are still in it.
		offset += skipped
	}
	return nil
}

func freePool(ctx context.Context, tx *Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM terminals WHERE pool = 1
		AND id NOT IN (SELECT terminal_id FROM slots WHERE state = 'granted') ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// EndReasons implements slots.Ledger.
func (st *Slots) EndReasons(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := st.s.db.QueryContext(ctx, `SELECT id, reason FROM slot_history WHERE id = ANY(?::text[])`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, reason string
		if err := rows.Scan(&id, &reason); err != nil {
			return nil, err
		}
		out[id] = reason
	}
	return out, rows.Err()
}

// prefixed qualifies a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
