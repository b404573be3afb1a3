package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/meet"
)

// Meet adapts the store to meet.Hosts.
type Meet struct{ s *Store }

// Meet returns the record of which broker hosts each meeting room.
func (s *Store) Meet() meet.Hosts { return &Meet{s} }

var _ meet.Hosts = (*Meet)(nil)

// PutRoomHost implements meet.Hosts.
func (m *Meet) PutRoomHost(ctx context.Context, h meet.RoomHost) error {
	_, err := m.s.W.ExecContext(ctx, `INSERT INTO meet_rooms (id, broker, title, created_by, created_at, seen_at, department, meeting) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET broker = excluded.broker, title = excluded.title, created_by = excluded.created_by,
		created_at = excluded.created_at, seen_at = excluded.seen_at, department = excluded.department, meeting = excluded.meeting`,
		h.ID, h.Broker, h.Title, h.CreatedBy, ms(h.CreatedAt), ms(h.SeenAt), h.Department, h.Meeting)
	return err
}

// ClaimRoomHost implements meet.Hosts: one statement, so that of two
// brokers claiming a room at once one wins and both read its record.
func (m *Meet) ClaimRoomHost(ctx context.Context, h meet.RoomHost, live time.Time) (meet.RoomHost, error) {
	if _, err := m.s.W.ExecContext(ctx, `INSERT INTO meet_rooms (id, broker, title, created_by, created_at, seen_at, department, meeting) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET broker = excluded.broker, title = excluded.title, created_by = excluded.created_by,
		created_at = excluded.created_at, seen_at = excluded.seen_at, department = excluded.department, meeting = excluded.meeting
		WHERE meet_rooms.broker = excluded.broker OR meet_rooms.seen_at < ?`,
		h.ID, h.Broker, h.Title, h.CreatedBy, ms(h.CreatedAt), ms(h.SeenAt), h.Department, h.Meeting, ms(live)); err != nil {
		return meet.RoomHost{}, err
	}
	return m.RoomHost(ctx, h.ID)
}

// RoomHost implements meet.Hosts.
func (m *Meet) RoomHost(ctx context.Context, id string) (meet.RoomHost, error) {
	h := meet.RoomHost{ID: id}
	var created, seen int64
	err := m.s.R.QueryRowContext(ctx, `SELECT broker, title, created_by, created_at, seen_at, department, meeting FROM meet_rooms WHERE id = ?`, id).
		Scan(&h.Broker, &h.Title, &h.CreatedBy, &created, &seen, &h.Department, &h.Meeting)
	if errors.Is(err, sql.ErrNoRows) {
		return h, meet.ErrNoHost
	}
	h.CreatedAt, h.SeenAt = fromMS(created), fromMS(seen)
	return h, err
}

// NowRoomHosts implements meet.Hosts.
func (m *Meet) NowRoomHosts(ctx context.Context, department, userID string, live time.Time) ([]meet.RoomHost, error) {
	rows, err := m.s.R.QueryContext(ctx, `SELECT id, broker, title, created_by, created_at, seen_at, department, meeting FROM meet_rooms
		WHERE meeting = '' AND seen_at >= ? AND ((department = ? AND department <> '') OR created_by = ?)
		ORDER BY created_at, id LIMIT 200`, ms(live), department, userID)
	if err != nil {
		return nil, err
	}
	return scanRoomHosts(rows)
}

// RoomHostsOf implements meet.Hosts.
func (m *Meet) RoomHostsOf(ctx context.Context, ids []string) ([]meet.RoomHost, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []meet.RoomHost
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := m.s.R.QueryContext(ctx, `SELECT id, broker, title, created_by, created_at, seen_at, department, meeting FROM meet_rooms
			WHERE id IN (?`+strings.Repeat(",?", len(batch)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		hs, err := scanRoomHosts(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	return out, nil
}

func scanRoomHosts(rows *sql.Rows) ([]meet.RoomHost, error) {
	defer rows.Close()
	var out []meet.RoomHost
	for rows.Next() {
		var h meet.RoomHost
		var created, seen int64
		if err := rows.Scan(&h.ID, &h.Broker, &h.Title, &h.CreatedBy, &created, &seen, &h.Department, &h.Meeting); err != nil {
			return nil, err
		}
		h.CreatedAt, h.SeenAt = fromMS(created), fromMS(seen)
		out = append(out, h)
	}
	return out, rows.Err()
}

// TouchRoomHosts implements meet.Hosts.
func (m *Meet) TouchRoomHosts(ctx context.Context, ids []string, at time.Time) error {
	return m.s.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE meet_rooms SET seen_at = ? WHERE id = ?`, ms(at), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteRoomHost implements meet.Hosts.
func (m *Meet) DeleteRoomHost(ctx context.Context, id string) error {
	_, err := m.s.W.ExecContext(ctx, `DELETE FROM meet_rooms WHERE id = ?`, id)
	return err
}

// PurgeRoomHosts implements meet.Hosts.
func (m *Meet) PurgeRoomHosts(ctx context.Context, before time.Time) (int64, error) {
	res, err := m.s.W.ExecContext(ctx, `DELETE FROM meet_rooms WHERE seen_at < ?`, ms(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
