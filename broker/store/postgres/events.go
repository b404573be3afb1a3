package postgres

import (
	"context"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/events"
)

// Events adapts the store to events.Store.
type Events struct{ s *Store }

// Events returns the event store.
func (s *Store) Events() events.Store { return &Events{s} }

var _ events.Store = (*Events)(nil)

// AppendEvents implements events.Store.
func (st *Events) AppendEvents(ctx context.Context, evs []events.Stored) error {
	return st.s.Tx(ctx, func(tx *Tx) error {
		last := map[string]int64{}
		for _, e := range evs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO events (user_id, seq, type, at, data) VALUES (?,?,?,?,?)`,
				e.UserID, e.Seq, e.Type, ms(e.At), string(e.Data)); err != nil {
				return err
			}
			last[e.UserID] = e.Seq
		}
		for u, s := range last {
			if _, err := tx.ExecContext(ctx, `INSERT INTO event_seqs (user_id, seq) VALUES (?,?)
				ON CONFLICT(user_id) DO UPDATE SET seq = excluded.seq`, u, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// EventSeqs implements events.Store.
func (st *Events) EventSeqs(ctx context.Context) (map[string]int64, error) {
	rows, err := st.s.db.QueryContext(ctx, `SELECT user_id, seq FROM event_seqs`)
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
	rows, err := st.s.db.QueryContext(ctx, `SELECT seq, type, at, data FROM events WHERE user_id = ? AND seq > ?
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
	res, err := st.s.db.ExecContext(ctx, `DELETE FROM events WHERE at < ?`, ms(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
