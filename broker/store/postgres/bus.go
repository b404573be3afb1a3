package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/zaitaku/zaitaku/broker/events"
)

// busChannel is the NOTIFY channel the event hubs of all brokers on the
// database share.
const busChannel = "zaitaku_events"

// inlineLimit is the longest payload sent in the notification itself:
// NOTIFY takes less than 8000 bytes. A longer one is written to
// bus_payloads in the same transaction and the notification names its
// row ("@<id>"); the rows are purged with the events (events.purge).
const inlineLimit = 7900

// busPayloadKeep is how long a long payload's row is kept: every broker
// listening reads it within moments of its commit.
const busPayloadKeep = 10 * time.Minute

// Bus is the event hub's bus on PostgreSQL: LISTEN/NOTIFY, the listener
// on a connection of its own outside the pool (a pooled connection goes
// back to the pool between queries and would drop the LISTEN).
type Bus struct{ s *Store }

// Bus returns the bus of the brokers sharing this database.
func (s *Store) Bus() events.Bus { return &Bus{s} }

var _ events.Bus = (*Bus)(nil)

// Publish implements events.Bus. A notification is sent at its
// transaction's commit, and notifications reach listeners in commit
// order, so calls made one after another arrive in that order.
func (b *Bus) Publish(ctx context.Context, payload []byte) error {
	if len(payload) <= inlineLimit && !strings.HasPrefix(string(payload), "@") {
		_, err := b.s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, busChannel, string(payload))
		return err
	}
	return b.s.Tx(ctx, func(tx *Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO bus_payloads (at, data) VALUES (?, ?) RETURNING id`,
			time.Now().UnixMilli(), string(payload)).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, busChannel, "@"+strconv.FormatInt(id, 10))
		return err
	})
}

// Listen implements events.Bus: it listens on its own connection and,
// when that drops, connects again with a growing pause (0.1 s to 5 s).
func (b *Bus) Listen(ctx context.Context, connected func(), recv func([]byte)) error {
	backoff := 100 * time.Millisecond
	for {
		listened, err := b.listen(ctx, connected, recv)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = 100 * time.Millisecond
		}
		b.s.log.Warn("events bus: connection lost; connecting again", "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// listenIdle is how long the listener waits for a notification before it
// checks that its connection still answers (a dead peer can leave a TCP
// connection open without a word).
const listenIdle = 30 * time.Second

func (b *Bus) listen(ctx context.Context, connected func(), recv func([]byte)) (listened bool, err error) {
	cfg := b.s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "zaitaku-broker events"
	// Wake from a wait by a deadline on the socket, not a cancel
	// request: the connection stays usable for the check that follows.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+busChannel); err != nil {
		return false, err
	}
	connected()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return true, nil
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
				return true, err
			}
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := conn.Exec(pctx, `SELECT 1`)
			cancel()
			if err != nil {
				return true, fmt.Errorf("listener check: %w", err)
			}
			continue
		}
		payload := n.Payload
		if strings.HasPrefix(payload, "@") {
			if payload, err = b.long(ctx, payload[1:]); err != nil {
				b.s.log.Warn("events bus: read a long payload", "id", n.Payload, "err", err)
				continue
			}
		}
		recv([]byte(payload))
	}
}

func (b *Bus) long(ctx context.Context, id string) (string, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return "", err
	}
	var data string
	err = b.s.pool.QueryRow(ctx, `SELECT data FROM bus_payloads WHERE id = $1`, n).Scan(&data)
	return data, err
}

// purgeBusPayloads deletes long payloads every listener has read.
func (st *Events) purgeBusPayloads(ctx context.Context) error {
	_, err := st.s.db.ExecContext(ctx, `DELETE FROM bus_payloads WHERE at < ?`, time.Now().Add(-busPayloadKeep).UnixMilli())
	return err
}
