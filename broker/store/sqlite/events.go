package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/events"
)

// Events adapts the store to events.Store.
type Events struct{ s *Store }

// Events returns the event store.
func (s *Store) Events() events.Store { return &Events{s} }

var _ events.Store = (*Events)(nil)

// AppendEvents implements events.Store. The numbers are the database's
// counter's, as on PostgreSQL where several brokers share it; with one
// broker they are the hub's own.
func (st *Events) AppendEvents(ctx context.Context, evs []events.Stored) error {
	count := map[string]int64{}
	var users []string
	for _, e := range evs {
		if count[e.UserID] == 0 {
			users = append(users, e.UserID)
		}
		count[e.UserID]++
	}
	numbered := make([]events.Stored, len(evs))
	err := st.s.Tx(ctx, func(tx *sql.Tx) error {
		up, err := tx.PrepareContext(ctx, `INSERT INTO event_seqs (user_id, seq) VALUES (?,?)
			ON CONFLICT(user_id) DO UPDATE SET seq = event_seqs.seq + excluded.seq RETURNING seq`)
		if err != nil {
			return err
		}
		defer up.Close()
		next := make(map[string]int64, len(users))
		for _, u := range users {
			var last int64
			if err := up.QueryRowContext(ctx, u, count[u]).Scan(&last); err != nil {
				return err
			}
			next[u] = last - count[u] + 1
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events (user_id, seq, type, at, data) VALUES (?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i, e := range evs {
			e.Seq = next[e.UserID]
			next[e.UserID]++
			if _, err := ins.ExecContext(ctx, e.UserID, e.Seq, e.Type, ms(e.At), string(e.Data)); err != nil {
				return err
			}
			numbered[i] = e
		}
		return nil
	})
	if err == nil {
		copy(evs, numbered)
	}
	return err
}

// EventSeqs implements events.Store.
func (st *Events) EventSeqs(ctx context.Context) (map[string]int64, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT user_id, seq FROM event_seqs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var u string
		var s int64
		if err := rows.Scan(&u, &s); err != nil {
			return nil, err
		}
		out[u] = s
	}
	return out, rows.Err()
}

// EventsAfter implements events.Store.
func (st *Events) EventsAfter(ctx context.Context, userID string, after int64, limit int) ([]api.Event, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT seq, type, at, data FROM events WHERE user_id = ? AND seq > ?
		ORDER BY seq LIMIT ?`, userID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Event
	for rows.Next() {
		var e api.Event
		var at int64
		var data string
		if err := rows.Scan(&e.Seq, &e.Type, &at, &data); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		if data != "" && data != "null" {
			e.Data = []byte(data)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PurgeEvents implements events.Store.
func (st *Events) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := st.s.W.ExecContext(ctx, `DELETE FROM events WHERE at < ?`, ms(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
