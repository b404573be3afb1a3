package postgres

import (
	"context"
	"sort"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/events"
)

// Events adapts the store to events.Store.
type Events struct{ s *Store }

// Events returns the event store.
func (s *Store) Events() events.Store { return &Events{s} }

var _ events.Store = (*Events)(nil)

// AppendEvents implements events.Store. Several brokers publish to the
// same user, so the numbers are the database's: each user's counter is
// raised by the batch's count for that user in one upsert, whose row lock
// holds another broker's batch for the user until this one commits (so a
// stored number implies every lower one is stored). Users are taken in
// sorted order, so that two batches never wait on each other.
func (st *Events) AppendEvents(ctx context.Context, evs []events.Stored) error {
	count := map[string]int64{}
	for _, e := range evs {
		count[e.UserID]++
	}
	users := make([]string, 0, len(count))
	for u := range count {
		users = append(users, u)
	}
	sort.Strings(users)
	numbered := make([]events.Stored, len(evs))
	err := st.s.Tx(ctx, func(tx *Tx) error {
		next := make(map[string]int64, len(users))
		for _, u := range users {
			var last int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO event_seqs (user_id, seq) VALUES (?,?)
				ON CONFLICT(user_id) DO UPDATE SET seq = event_seqs.seq + excluded.seq RETURNING seq`, u, count[u]).Scan(&last); err != nil {
				return err
			}
			next[u] = last - count[u] + 1
		}
		for i, e := range evs {
			e.Seq = next[e.UserID]
			next[e.UserID]++
			if _, err := tx.ExecContext(ctx, `INSERT INTO events (user_id, seq, type, at, data) VALUES (?,?,?,?,?)`,
				e.UserID, e.Seq, e.Type, ms(e.At), string(e.Data)); err != nil {
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
	if err := st.purgeBusPayloads(ctx); err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
