// Package telework is telework requests and their approval, each
// department's telework policy, the holiday calendar and the
// working-time record HR needs (issue 18). It declares Store; engines
// under broker/store implement it.
package telework

import (
	"context"
	"errors"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Sentinels of Store.
var (
	ErrNotFound = errors.New("telework: not found")
	ErrConflict = errors.New("telework: conflict")
)

// Day is one person's explicit record of a day: the place chosen and the
// start and end of work they reported (zero when not reported).
type Day struct {
	UserID, Date string
	Place        string
	Start, End   time.Time
}

// Session is one granted slot's interval (End zero while it runs): the
// connects and disconnects the working time is read from.
type Session struct {
	UserID     string
	Start, End time.Time
}

// StandIn is who decides in an approver's place, between two dates.
type StandIn struct {
	Approver, StandIn string
	From, To          string
}

// Store is what telework needs from the database.
type Store interface {
	CreateRequest(ctx context.Context, r api.TeleworkRequest) error
	GetRequest(ctx context.Context, id string) (api.TeleworkRequest, error) // ErrNotFound
	// UpdateRequest reads, changes (fn) and writes a request in one
	// transaction, so two decisions cannot both win.
	UpdateRequest(ctx context.Context, id string, fn func(r *api.TeleworkRequest) error) (api.TeleworkRequest, error)
	// Requests lists requests of a user (or of a department when user is
	// empty) whose days overlap [from, to] (dates; empty: unbounded),
	// oldest first.
	Requests(ctx context.Context, user, department, from, to string) ([]api.TeleworkRequest, error)

	Policy(ctx context.Context, department string) (api.TeleworkPolicy, error) // ErrNotFound
	PutPolicy(ctx context.Context, p api.TeleworkPolicy) error
	Policies(ctx context.Context) ([]api.TeleworkPolicy, error) // by department

	PutHoliday(ctx context.Context, h api.Holiday) error
	DeleteHoliday(ctx context.Context, date string) error                 // ErrNotFound
	Holidays(ctx context.Context, from, to string) ([]api.Holiday, error) // by date

	SetApprovers(ctx context.Context, department string, users []string) error
	Approvers(ctx context.Context, department string) ([]string, error) // sorted
	PutStandIn(ctx context.Context, s StandIn) error                    // one per approver
	StandIns(ctx context.Context, approvers []string) ([]StandIn, error)

	PutDay(ctx context.Context, d Day) error
	Day(ctx context.Context, user, date string) (Day, error)  // ErrNotFound
	Days(ctx context.Context, from, to string) ([]Day, error) // by date, user

	// Sessions lists the granted slots (ended and live) of users that
	// overlap [from, to), by start.
	Sessions(ctx context.Context, from, to time.Time) ([]Session, error)
}
