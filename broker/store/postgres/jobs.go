package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/zaitaku/zaitaku/broker/jobs"
)

// Jobs adapts the store to jobs.Store.
type Jobs struct{ s *Store }

// Jobs returns the background-job claims.
func (s *Store) Jobs() jobs.Store { return &Jobs{s} }

var _ jobs.Store = (*Jobs)(nil)

// ClaimRun implements jobs.Store: the upsert's WHERE lets only a claim
// past the last start through, and the row's lock makes concurrent
// claims wait for the first and then fail its WHERE.
func (j *Jobs) ClaimRun(ctx context.Context, name, by string, now, notBefore time.Time) (bool, error) {
	var got string
	err := j.s.db.QueryRowContext(ctx, `INSERT INTO job_runs (name, started_at, started_by) VALUES (?,?,?)
		ON CONFLICT(name) DO UPDATE SET started_at = excluded.started_at, started_by = excluded.started_by
		WHERE job_runs.started_at < ? RETURNING name`, name, ms(now), by, ms(notBefore)).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
