package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/schedule"
)

// Meetings adapts the store to schedule.Store.
type Meetings struct{ s *Store }

// Meetings returns the scheduled meetings' store.
func (s *Store) Meetings() schedule.Store { return &Meetings{s} }

var _ schedule.Store = (*Meetings)(nil)

const meetingCols = `id, title, starts_at, ends_at, department, created_by, created_at`

// CreateMeeting implements schedule.Store.
func (m *Meetings) CreateMeeting(ctx context.Context, mt api.Meeting) error {
	return m.s.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meetings (`+meetingCols+`, until_at) VALUES (?,?,?,?,?,?,?,?)`,
			mt.ID, mt.Title, ms(mt.StartsAt), ms(mt.EndsAt), mt.Department, mt.CreatedBy, ms(mt.CreatedAt), ms(mt.Ends())); err != nil {
			return err
		}
		for _, u := range mt.Invitees {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meeting_invitees (meeting_id, user_id) VALUES (?,?)`, mt.ID, u); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanMeeting(sc scanner) (api.Meeting, error) {
	var mt api.Meeting
	var start, end, created int64
	err := sc.Scan(&mt.ID, &mt.Title, &start, &end, &mt.Department, &mt.CreatedBy, &created)
	mt.StartsAt, mt.EndsAt, mt.CreatedAt = fromMS(start), fromMS(end), fromMS(created)
	return mt, err
}

func (m *Meetings) invitees(ctx context.Context, mt *api.Meeting) error {
	rows, err := m.s.db.QueryContext(ctx, `SELECT user_id FROM meeting_invitees WHERE meeting_id = ? ORDER BY user_id`, mt.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return err
		}
		mt.Invitees = append(mt.Invitees, u)
	}
	return rows.Err()
}

// Meeting implements schedule.Store.
func (m *Meetings) Meeting(ctx context.Context, id string) (api.Meeting, error) {
	mt, err := scanMeeting(m.s.db.QueryRowContext(ctx, `SELECT `+meetingCols+` FROM meetings WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return api.Meeting{}, schedule.ErrNotFound
	} else if err != nil {
		return api.Meeting{}, err
	}
	return mt, m.invitees(ctx, &mt)
}

// ListMeetings implements schedule.Store.
func (m *Meetings) ListMeetings(ctx context.Context, department, userID string, from time.Time, limit int) ([]api.Meeting, error) {
	rows, err := m.s.db.QueryContext(ctx, `SELECT `+meetingCols+` FROM meetings WHERE until_at > ?
		AND ((department = ? AND department <> '') OR created_by = ? OR id IN (SELECT meeting_id FROM meeting_invitees WHERE user_id = ?))
		ORDER BY starts_at, id LIMIT ?`, ms(from), department, userID, userID, limit)
	if err != nil {
		return nil, err
	}
	var out []api.Meeting
	for rows.Next() {
		mt, err := scanMeeting(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, mt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := m.invitees(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
