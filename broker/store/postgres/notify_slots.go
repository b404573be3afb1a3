package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen implements slots.Ledger: LISTEN on a connection of its own,
// outside the pool (a pooled connection goes back to others between
// queries and would lose the subscription). changed runs for every other
// broker's notification and after each (re)connect, since notifications
// sent while no connection listened are gone; the managers' sweeps read
// the database anyway, as the fallback.
func (st *Slots) Listen(ctx context.Context, self string, changed func()) {
	for ctx.Err() == nil {
		err := st.listenOnce(ctx, self, changed)
		if ctx.Err() != nil {
			return
		}
		if st.s.log != nil {
			st.s.log.Warn("slots: notifications from other brokers lost; reconnecting", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (st *Slots) listenOnce(ctx context.Context, self string, changed func()) error {
	cfg := st.s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "zaitaku-broker slots " + self
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+slotsChannel); err != nil {
		return err
	}
	changed()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != self {
			changed()
		}
	}
}
