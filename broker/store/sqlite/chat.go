package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/chat"
)

// Chat adapts the store to chat.Store.
type Chat struct{ s *Store }

// Chat returns the chat store.
func (s *Store) Chat() chat.Store { return &Chat{s} }

var _ chat.Store = (*Chat)(nil)

// maxUnread caps the unread count a channel list computes: past it the
// app shows "9999+", and a list never counts a million rows.
const maxUnread = 9999

const chanCols = `c.id, c.kind, c.name, COALESCE(c.department, ''), COALESCE(c.direct_key, ''), c.created_by, c.created_at, c.last_seq`

func scanChannel(row scanner, extra ...any) (chat.Channel, error) {
	var c chat.Channel
	var created int64
	err := row.Scan(append([]any{&c.ID, &c.Kind, &c.Name, &c.Department, &c.DirectKey, &c.CreatedBy, &created, &c.LastSeq}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return c, chat.ErrNotFound
	}
	c.CreatedAt = fromMS(created)
	return c, err
}

// CreateChannel implements chat.Store.
func (st *Chat) CreateChannel(ctx context.Context, c chat.Channel, members []string) error {
	return st.s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO chat_channels (id, kind, name, department, direct_key, created_by, created_at, last_seq)
			VALUES (?,?,?,?,?,?,?,0)`, c.ID, c.Kind, c.Name, nullable(c.Department), nullable(c.DirectKey), c.CreatedBy, ms(c.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("channel %s: %w", c.ID, chat.ErrConflict)
		}
		if err != nil {
			return err
		}
		return addMembers(ctx, tx, c.ID, members, c.CreatedAt)
	})
}

func addMembers(ctx context.Context, tx *sql.Tx, channelID string, users []string, at time.Time) error {
	for _, u := range users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_members (channel_id, user_id, joined_at) VALUES (?,?,?)
			ON CONFLICT DO NOTHING`, channelID, u, ms(at)); err != nil {
			return err
		}
	}
	return nil
}

// GetChannel implements chat.Store.
func (st *Chat) GetChannel(ctx context.Context, id string) (chat.Channel, error) {
	q, err := st.s.prepared(ctx, "chat.channel", `SELECT `+chanCols+` FROM chat_channels c WHERE c.id = ?`)
	if err != nil {
		return chat.Channel{}, err
	}
	return scanChannel(q.QueryRowContext(ctx, id))
}

// DepartmentChannel implements chat.Store.
func (st *Chat) DepartmentChannel(ctx context.Context, dept string) (chat.Channel, error) {
	return scanChannel(st.s.R.QueryRowContext(ctx, `SELECT `+chanCols+` FROM chat_channels c WHERE c.department = ?`, dept))
}

// DirectChannel implements chat.Store.
func (st *Chat) DirectChannel(ctx context.Context, key string) (chat.Channel, error) {
	return scanChannel(st.s.R.QueryRowContext(ctx, `SELECT `+chanCols+` FROM chat_channels c WHERE c.direct_key = ?`, key))
}

// ListChannels implements chat.Store.
func (st *Chat) ListChannels(ctx context.Context) ([]chat.Channel, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT `+chanCols+` FROM chat_channels c ORDER BY c.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChannelsOf implements chat.Store.
func (st *Chat) ChannelsOf(ctx context.Context, userID, department string) ([]chat.ChannelState, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT `+chanCols+`, COALESCE(k.read_seq, 0), COALESCE(k.muted, 0),
		(SELECT COUNT(*) FROM (SELECT 1 FROM chat_messages m WHERE m.channel_id = c.id AND m.seq > COALESCE(k.read_seq, 0)
			AND m.kind = 'message' AND m.sender != ?1 AND m.deleted_at = 0 LIMIT ?3))
		FROM chat_channels c LEFT JOIN chat_marks k ON k.channel_id = c.id AND k.user_id = ?1
		WHERE c.id IN (SELECT channel_id FROM chat_members WHERE user_id = ?1
			UNION ALL SELECT id FROM chat_channels WHERE ?2 != '' AND department = ?2)
		ORDER BY c.id`, userID, department, maxUnread)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.ChannelState{}
	for rows.Next() {
		var cs chat.ChannelState
		c, err := scanChannel(rows, &cs.ReadSeq, &cs.Muted, &cs.Unread)
		if err != nil {
			return nil, err
		}
		cs.Channel = c
		out = append(out, cs)
	}
	return out, rows.Err()
}

// ChannelIDsOf implements chat.Store.
func (st *Chat) ChannelIDsOf(ctx context.Context, userID, department string) ([]string, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT channel_id FROM chat_members WHERE user_id = ?1
		UNION SELECT id FROM chat_channels WHERE ?2 != '' AND department = ?2
		ORDER BY 1`, userID, department)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Members implements chat.Store.
func (st *Chat) Members(ctx context.Context, channelID string) ([]string, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT user_id FROM chat_members WHERE channel_id = ? ORDER BY user_id`, channelID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// IsMember implements chat.Store.
func (st *Chat) IsMember(ctx context.Context, channelID, userID string) (bool, error) {
	q, err := st.s.prepared(ctx, "chat.member", `SELECT 1 FROM chat_members WHERE channel_id = ? AND user_id = ?`)
	if err != nil {
		return false, err
	}
	var one int
	err = q.QueryRowContext(ctx, channelID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// AddMembers implements chat.Store.
func (st *Chat) AddMembers(ctx context.Context, channelID string, users []string, at time.Time) error {
	return st.s.Tx(ctx, func(tx *sql.Tx) error { return addMembers(ctx, tx, channelID, users, at) })
}

// RemoveMember implements chat.Store.
func (st *Chat) RemoveMember(ctx context.Context, channelID, userID string) error {
	_, err := st.s.W.ExecContext(ctx, `DELETE FROM chat_members WHERE channel_id = ? AND user_id = ?`, channelID, userID)
	return err
}

// RenameChannel implements chat.Store.
func (st *Chat) RenameChannel(ctx context.Context, channelID, name string) error {
	r, err := st.s.W.ExecContext(ctx, `UPDATE chat_channels SET name = ? WHERE id = ? AND kind = 'group'`, name, channelID)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return chat.ErrNotFound
	}
	return nil
}

const msgCols = `channel_id, seq, kind, sender, client_key, text, reply_to, quote, mentions, target, at, edited_at, deleted_at`

func scanMessage(row scanner) (api.ChatMessage, error) {
	var m api.ChatMessage
	var quote, mentions sql.NullString
	var at, edited, deleted int64
	err := row.Scan(&m.Channel, &m.Seq, &m.Kind, &m.Sender, &m.Key, &m.Text, &m.ReplyTo, &quote, &mentions, &m.Target, &at, &edited, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return m, chat.ErrNotFound
	}
	if err != nil {
		return m, err
	}
	m.At, m.EditedAt, m.Deleted = fromMS(at), fromMS(edited), deleted != 0
	if quote.Valid && quote.String != "" {
		m.Quote = &api.ChatQuote{}
		if err := json.Unmarshal([]byte(quote.String), m.Quote); err != nil {
			return m, fmt.Errorf("chat quote of %s/%d: %w", m.Channel, m.Seq, err)
		}
	}
	if mentions.Valid && mentions.String != "" {
		if err := json.Unmarshal([]byte(mentions.String), &m.Mentions); err != nil {
			return m, fmt.Errorf("chat mentions of %s/%d: %w", m.Channel, m.Seq, err)
		}
	}
	return m, nil
}

func scanMessages(rows *sql.Rows) ([]api.ChatMessage, error) {
	defer rows.Close()
	out := []api.ChatMessage{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// The statements of every Append, compiled once (writeQuery).
var (
	qMessageByKey  = newWriteQuery(`SELECT ` + msgCols + ` FROM chat_messages WHERE sender = ? AND client_key = ?`)
	qNextSeq       = newWriteQuery(`UPDATE chat_channels SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`)
	qInsertMessage = newWriteQuery(`INSERT INTO chat_messages (channel_id, seq, kind, sender, client_key, text, reply_to, quote, mentions, target, at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`)
)

// Append implements chat.Store.
func (st *Chat) Append(ctx context.Context, m api.ChatMessage) (api.ChatMessage, bool, error) {
	var out api.ChatMessage
	var existed bool
	err := st.s.Tx(ctx, func(tx *sql.Tx) error {
		got, err := scanMessage(st.s.stmt(ctx, tx, qMessageByKey).QueryRowContext(ctx, m.Sender, m.Key))
		if err == nil {
			out, existed = got, true
			return nil
		}
		if !errors.Is(err, chat.ErrNotFound) {
			return err
		}
		var oldText string
		var deletedAt int64
		if m.Kind == api.ChatKindEdit || m.Kind == api.ChatKindDelete {
			err := tx.QueryRowContext(ctx, `SELECT text, deleted_at FROM chat_messages WHERE channel_id = ? AND seq = ? AND kind = 'message'`,
				m.Channel, m.Target).Scan(&oldText, &deletedAt)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("message %s/%d: %w", m.Channel, m.Target, chat.ErrNotFound)
			}
			if err != nil {
				return err
			}
			if deletedAt != 0 {
				if m.Kind == api.ChatKindDelete {
					got, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+msgCols+` FROM chat_messages
						WHERE channel_id = ? AND kind = 'delete' AND target = ? ORDER BY seq LIMIT 1`, m.Channel, m.Target))
					if err == nil {
						out, existed = got, true
					}
					return err
				}
				return fmt.Errorf("message %s/%d: %w", m.Channel, m.Target, chat.ErrGone)
			}
		}
		if err := st.s.stmt(ctx, tx, qNextSeq).QueryRowContext(ctx, m.Channel).Scan(&m.Seq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("channel %s: %w", m.Channel, chat.ErrNotFound)
			}
			return err
		}
		switch m.Kind {
		case api.ChatKindEdit, api.ChatKindDelete:
			if _, err := tx.ExecContext(ctx, `INSERT INTO chat_revisions (channel_id, seq, text, replaced) VALUES (?,?,?,?)`,
				m.Channel, m.Target, oldText, ms(m.At)); err != nil {
				return err
			}
			q := `UPDATE chat_messages SET text = ?, edited_at = ? WHERE channel_id = ? AND seq = ?`
			args := []any{m.Text, ms(m.At), m.Channel, m.Target}
			if m.Kind == api.ChatKindDelete {
				q = `UPDATE chat_messages SET text = '', deleted_at = ? WHERE channel_id = ? AND seq = ?`
				args = []any{ms(m.At), m.Channel, m.Target}
				m.Text = ""
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		var quote, mentions any
		if m.Quote != nil {
			b, _ := json.Marshal(m.Quote)
			quote = string(b)
		}
		if len(m.Mentions) > 0 {
			b, _ := json.Marshal(m.Mentions)
			mentions = string(b)
		}
		if _, err := st.s.stmt(ctx, tx, qInsertMessage).ExecContext(ctx, m.Channel, m.Seq, m.Kind, m.Sender, m.Key, m.Text, m.ReplyTo, quote, mentions, m.Target, ms(m.At)); err != nil {
			return err
		}
		m.At = fromMS(ms(m.At))
		m.EditedAt, m.Deleted = time.Time{}, false
		out = m
		return nil
	})
	return out, existed, err
}

// Message implements chat.Store.
func (st *Chat) Message(ctx context.Context, channelID string, seq int64) (api.ChatMessage, error) {
	return scanMessage(st.s.R.QueryRowContext(ctx, `SELECT `+msgCols+` FROM chat_messages WHERE channel_id = ? AND seq = ?`, channelID, seq))
}

// After implements chat.Store.
func (st *Chat) After(ctx context.Context, channelID string, after int64, limit int) ([]api.ChatMessage, error) {
	q, err := st.s.prepared(ctx, "chat.after", `SELECT `+msgCols+` FROM chat_messages WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?`)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, channelID, after, limit)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// Before implements chat.Store.
func (st *Chat) Before(ctx context.Context, channelID string, before int64, limit int) ([]api.ChatMessage, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT * FROM (SELECT `+msgCols+` FROM chat_messages WHERE channel_id = ? AND seq < ?
		ORDER BY seq DESC LIMIT ?) ORDER BY seq`, channelID, before, limit)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// FirstSeq implements chat.Store.
func (st *Chat) FirstSeq(ctx context.Context, channelID string) (int64, error) {
	var n sql.NullInt64
	err := st.s.R.QueryRowContext(ctx, `SELECT MIN(seq) FROM chat_messages WHERE channel_id = ?`, channelID).Scan(&n)
	return n.Int64, err
}

// purgeBatch bounds one purge transaction, so that the writer is not
// held for long by years of messages going at once.
const purgeBatch = 5000

// PurgeChat implements chat.Store.
func (st *Chat) PurgeChat(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := st.s.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM chat_messages WHERE n IN (SELECT n FROM chat_messages WHERE at < ? LIMIT ?)`,
				ms(before), purgeBatch)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			_, err = tx.ExecContext(ctx, `DELETE FROM chat_revisions WHERE NOT EXISTS (SELECT 1 FROM chat_messages m
				WHERE m.channel_id = chat_revisions.channel_id AND m.seq = chat_revisions.seq)`)
			return err
		})
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}

// Revisions implements chat.Store.
func (st *Chat) Revisions(ctx context.Context, channelID string, seq int64) ([]chat.Revision, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT seq, text, replaced FROM chat_revisions WHERE channel_id = ? AND seq = ?
		ORDER BY replaced, rowid`, channelID, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Revision{}
	for rows.Next() {
		var r chat.Revision
		var at int64
		if err := rows.Scan(&r.Seq, &r.Text, &at); err != nil {
			return nil, err
		}
		r.Replaced = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkRead implements chat.Store.
func (st *Chat) MarkRead(ctx context.Context, channelID, userID string, seq int64) (int64, error) {
	var got int64
	err := st.s.W.QueryRowContext(ctx, `INSERT INTO chat_marks (channel_id, user_id, read_seq) VALUES (?,?,?)
		ON CONFLICT(channel_id, user_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq) RETURNING read_seq`,
		channelID, userID, seq).Scan(&got)
	return got, err
}

// SetMuted implements chat.Store.
func (st *Chat) SetMuted(ctx context.Context, channelID, userID string, muted bool) error {
	_, err := st.s.W.ExecContext(ctx, `INSERT INTO chat_marks (channel_id, user_id, muted) VALUES (?,?,?)
		ON CONFLICT(channel_id, user_id) DO UPDATE SET muted = excluded.muted`, channelID, userID, muted)
	return err
}

// Marks implements chat.Store.
func (st *Chat) Marks(ctx context.Context, channelID string) ([]api.ChatRead, error) {
	rows, err := st.s.R.QueryContext(ctx, `SELECT user_id, read_seq FROM chat_marks WHERE channel_id = ? AND read_seq > 0
		ORDER BY user_id`, channelID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []api.ChatRead{}
	for rows.Next() {
		r := api.ChatRead{Channel: channelID}
		if err := rows.Scan(&r.User, &r.Seq); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Search implements chat.Store: the trigram index for three characters
// or more; for one or two, which have no trigram, an exact scan of the
// newest ScanLimit messages of the channels.
func (st *Chat) Search(ctx context.Context, q chat.SearchQuery) ([]api.ChatMessage, bool, error) {
	if len(q.Channels) == 0 || q.Text == "" {
		return []api.ChatMessage{}, false, nil
	}
	in := "?" + strings.Repeat(",?", len(q.Channels)-1)
	var args []any
	for _, c := range q.Channels {
		args = append(args, c)
	}
	cols := "m." + strings.ReplaceAll(msgCols, ", ", ", m.")
	if utf8.RuneCountInString(q.Text) >= 3 {
		phrase := `"` + strings.ReplaceAll(q.Text, `"`, `""`) + `"`
		// The index is read newest first (CROSS JOIN keeps it the outer
		// loop, ORDER BY its rowid needs no sort), so a common phrase
		// stops at the limit instead of sorting every match.
		rows, err := st.s.R.QueryContext(ctx, `SELECT `+cols+` FROM chat_fts f CROSS JOIN chat_messages m ON m.n = f.rowid
			WHERE chat_fts MATCH ? AND m.channel_id IN (`+in+`) AND m.deleted_at = 0
			ORDER BY f.rowid DESC LIMIT ?`, append(append([]any{phrase}, args...), q.Limit)...)
		if err != nil {
			return nil, false, err
		}
		out, err := scanMessages(rows)
		return out, false, err
	}
	scan := q.ScanLimit
	if scan <= 0 {
		scan = 100_000
	}
	// Newest first by rowid (+channel_id keeps SQLite from reading the
	// channels' index and sorting all their messages first), stopping at
	// the limit; lower() only for a query with ASCII letters, as the
	// index folds only those.
	match := `instr(m.text, ?) > 0`
	if strings.ContainsFunc(q.Text, func(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }) {
		match = `instr(lower(m.text), lower(?)) > 0`
	}
	rows, err := st.s.R.QueryContext(ctx, `SELECT `+cols+` FROM (SELECT * FROM chat_messages
			WHERE +channel_id IN (`+in+`) AND kind = 'message' ORDER BY n DESC LIMIT ?) m
		WHERE m.deleted_at = 0 AND `+match+` ORDER BY m.n DESC LIMIT ?`,
		append(args, scan, q.Text, q.Limit)...)
	if err != nil {
		return nil, false, err
	}
	out, err := scanMessages(rows)
	if err != nil {
		return nil, false, err
	}
	if len(out) >= q.Limit {
		return out, false, nil // the bound did not cut a full page: no need to count
	}
	var n int
	if err := st.s.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM chat_messages
		WHERE channel_id IN (`+in+`) AND kind = 'message' LIMIT ?)`, append(args, scan+1)...).Scan(&n); err != nil {
		return nil, false, err
	}
	return out, n > scan && len(out) < q.Limit, nil
}

// SetStatus implements chat.Store.
func (st *Chat) SetStatus(ctx context.Context, userID, message string, at time.Time) error {
	if message == "" {
		_, err := st.s.W.ExecContext(ctx, `DELETE FROM chat_status WHERE user_id = ?`, userID)
		return err
	}
	_, err := st.s.W.ExecContext(ctx, `INSERT INTO chat_status (user_id, message, updated_at) VALUES (?,?,?)
		ON CONFLICT(user_id) DO UPDATE SET message = excluded.message, updated_at = excluded.updated_at`, userID, message, ms(at))
	return err
}

// Statuses implements chat.Store.
func (st *Chat) Statuses(ctx context.Context, userIDs []string) (map[string]string, error) {
	out := map[string]string{}
	for len(userIDs) > 0 {
		// SQLite bounds the parameters of one statement.
		n := min(len(userIDs), 500)
		batch := userIDs[:n]
		userIDs = userIDs[n:]
		args := make([]any, len(batch))
		for i, u := range batch {
			args[i] = u
		}
		rows, err := st.s.R.QueryContext(ctx, `SELECT user_id, message FROM chat_status WHERE user_id IN (?`+
			strings.Repeat(",?", len(batch)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var u, m string
			if err := rows.Scan(&u, &m); err != nil {
				rows.Close()
				return nil, err
			}
			out[u] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ChatPolicy implements chat.Store.
func (st *Chat) ChatPolicy(ctx context.Context) (api.ChatPolicy, bool, error) {
	var v string
	err := st.s.R.QueryRowContext(ctx, `SELECT value FROM chat_settings WHERE key = 'policy'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return api.ChatPolicy{}, false, nil
	}
	if err != nil {
		return api.ChatPolicy{}, false, err
	}
	var p api.ChatPolicy
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return p, false, fmt.Errorf("chat policy: %w", err)
	}
	return p, true, nil
}

// PutChatPolicy implements chat.Store.
func (st *Chat) PutChatPolicy(ctx context.Context, p api.ChatPolicy) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = st.s.W.ExecContext(ctx, `INSERT INTO chat_settings (key, value) VALUES ('policy', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, string(b))
	return err
}
