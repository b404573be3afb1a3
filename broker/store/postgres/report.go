package postgres

import (
	"context"
	"time"

	"github.com/zaitaku/zaitaku/broker/report"
)

// Reports adapts the store to report.Store.
type Reports struct{ s *Store }

// Reports returns the reports' store (reads only).
func (s *Store) Reports() report.Store { return &Reports{s} }

var _ report.Store = (*Reports)(nil)

// Sessions implements report.Store: ended requests from slot_history
// (by its ended_at index) and the live ones, with each user's department
// as it is now.
func (st *Reports) Sessions(ctx context.Context, from, to time.Time) ([]report.Session, error) {
	rows, err := st.s.db.QueryContext(ctx, `
		SELECT h.user_id, COALESCE(u.department, ''), h.requested_at, h.granted_at, h.ended_at, h.id
		FROM slot_history h LEFT JOIN users u ON u.id = h.user_id
		WHERE h.ended_at >= ? AND h.requested_at < ?
		UNION ALL
		SELECT s.user_id, COALESCE(u.department, ''), s.requested_at, s.granted_at, 0, s.id
		FROM slots s LEFT JOIN users u ON u.id = s.user_id
		WHERE s.requested_at < ?
		ORDER BY 3, 6`, ms(from), ms(to), ms(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []report.Session
	for rows.Next() {
		var s report.Session
		var req, granted, ended int64
		var id string
		if err := rows.Scan(&s.UserID, &s.Department, &req, &granted, &ended, &id); err != nil {
			return nil, err
		}
		s.Requested, s.Granted, s.Ended = fromMS(req), fromMS(granted), fromMS(ended)
		out = append(out, s)
	}
	return out, rows.Err()
}
