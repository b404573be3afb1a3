package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
)

// LoadBCP implements slots.Store.
func (st *Slots) LoadBCP(ctx context.Context) (api.BCP, error) { return loadBCP(ctx, st.s.db) }

// rowQuerier is a DB or a Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func loadBCP(ctx context.Context, q rowQuerier) (api.BCP, error) {
	var b api.BCP
	var roles, depts string
	var since, at int64
	err := q.QueryRowContext(ctx, `SELECT active, cap, roles, departments, reason, since, updated_at, updated_by
		FROM bcp_mode WHERE id = 1`).Scan(&b.Active, &b.Cap, &roles, &depts, &b.Reason, &since, &at, &b.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return api.BCP{}, nil
	} else if err != nil {
		return api.BCP{}, err
	}
	if roles != "" {
		for _, r := range strings.Split(roles, ",") {
			b.Roles = append(b.Roles, api.Role(r))
		}
	}
	if err := json.Unmarshal([]byte(depts), &b.Departments); err != nil {
		return api.BCP{}, fmt.Errorf("bcp departments: %w", err)
	}
	if len(b.Departments) == 0 {
		b.Departments = nil
	}
	b.Since, b.UpdatedAt = fromMS(since), fromMS(at)
	return b, nil
}

func putBCP(ctx context.Context, tx *Tx, b *api.BCP) error {
	roles := make([]string, len(b.Roles))
	for i, r := range b.Roles {
		roles[i] = string(r)
	}
	depts, err := json.Marshal(b.Departments)
	if err != nil {
		return err
	}
	if b.Departments == nil {
		depts = []byte("[]")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO bcp_mode (id, active, cap, roles, departments, reason, since, updated_at, updated_by)
		VALUES (1,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET active=excluded.active, cap=excluded.cap,
		roles=excluded.roles, departments=excluded.departments, reason=excluded.reason, since=excluded.since,
		updated_at=excluded.updated_at, updated_by=excluded.updated_by`,
		b.Active, b.Cap, strings.Join(roles, ","), string(depts), b.Reason, ms(b.Since), ms(b.UpdatedAt), b.UpdatedBy)
	if err != nil {
		return fmt.Errorf("bcp mode: %w", err)
	}
	return nil
}
