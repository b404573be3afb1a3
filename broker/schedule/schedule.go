// Package schedule is scheduled meetings: a title, a start and an
// optional end, kept in the store (unlike rooms, which live in the
// broker's memory), listed to the organizer's department and to the
// staff invited from elsewhere. A meeting's room is opened by broker/meet
// when the first participant joins; this package knows nothing of media.
package schedule

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Store keeps scheduled meetings.
type Store interface {
	// CreateMeeting stores m with its invitees.
	CreateMeeting(ctx context.Context, m api.Meeting) error
	// Meeting returns one meeting with its invitees, or ErrNotFound.
	Meeting(ctx context.Context, id string) (api.Meeting, error)
	// ListMeetings returns the meetings still to end at from (EndsAt
	// after from, or no end and a start after from-api.MeetingOpenFor)
	// that department organizes or userID organized or is invited to,
	// by start then ID, at most limit.
	ListMeetings(ctx context.Context, department, userID string, from time.Time, limit int) ([]api.Meeting, error)
}

// ErrNotFound is the store's answer for an unknown meeting.
var ErrNotFound = errors.New("schedule: no such meeting")

// Directory finds the staff to invite (auth's users).
type Directory interface {
	User(ctx context.Context, id string) (api.User, error)
}

// MaxListed bounds one list: a department's next meetings.
const MaxListed = 200

// Service is scheduled meetings.
type Service struct {
	store Store
	dir   Directory
	audit audit.Recorder
	now   func() time.Time
}

// New builds the service.
func New(st Store, dir Directory, rec audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, dir: dir, audit: rec, now: now}
}

// Create schedules a meeting organized by u.
func (s *Service) Create(ctx context.Context, u api.User, req api.CreateMeetingRequest) (api.Meeting, error) {
	title := strings.TrimSpace(req.Title)
	if title == "" {
		return api.Meeting{}, api.Err(api.CodeValidation, "title: what the meeting is about")
	}
	if err := api.CheckText("title", title, 200); err != nil {
		return api.Meeting{}, err
	}
	now := s.now()
	switch {
	case req.StartsAt.IsZero():
		return api.Meeting{}, api.Err(api.CodeValidation, "starts_at: when the meeting starts (RFC 3339)")
	case !req.EndsAt.IsZero() && !req.EndsAt.After(req.StartsAt):
		return api.Meeting{}, api.Err(api.CodeValidation, "ends_at: after starts_at, or nothing")
	case !req.EndsAt.IsZero() && req.EndsAt.Sub(req.StartsAt) > 24*time.Hour:
		return api.Meeting{}, api.Err(api.CodeValidation, "ends_at: within 24 hours of starts_at")
	case req.StartsAt.Before(now.Add(-time.Hour)):
		return api.Meeting{}, api.Err(api.CodeValidation, "starts_at: in the past; schedule a meeting from now on, or meet now")
	case len(req.Invitees) > api.MaxInvitees:
		return api.Meeting{}, api.Errf(api.CodeValidation, "invitees: at most %d", api.MaxInvitees)
	}
	var inv []string
	for _, id := range req.Invitees {
		id = strings.ToLower(strings.TrimSpace(id))
		if id == "" || id == u.ID || slices.Contains(inv, id) {
			continue
		}
		if _, err := s.dir.User(ctx, id); err != nil {
			return api.Meeting{}, api.Errf(api.CodeValidation, "invitees: no staff member %q", id)
		}
		inv = append(inv, id)
	}
	slices.Sort(inv)
	m := api.Meeting{ID: "mtg_" + randomID(), Title: title, StartsAt: req.StartsAt.UTC().Truncate(time.Millisecond),
		Department: u.Department, CreatedBy: u.ID, CreatedAt: now.UTC().Truncate(time.Millisecond), Invitees: inv}
	if !req.EndsAt.IsZero() {
		m.EndsAt = req.EndsAt.UTC().Truncate(time.Millisecond)
	}
	if err := s.store.CreateMeeting(ctx, m); err != nil {
		return api.Meeting{}, err
	}
	_ = s.audit.Record(ctx, audit.Event{At: now, Actor: u.ID, Action: "meet.meeting_scheduled", Target: m.ID,
		Fields: map[string]string{"title": title, "starts_at": m.StartsAt.Format(time.RFC3339)}})
	return m, nil
}

// List is the meetings u may join that have not ended.
func (s *Service) List(ctx context.Context, u api.User) ([]api.Meeting, error) {
	return s.store.ListMeetings(ctx, u.Department, u.ID, s.now(), MaxListed)
}

// ForJoin returns the meeting u may join now: of their department,
// theirs, or invited; not over. (Early is fine: people come in before
// the hour.)
func (s *Service) ForJoin(ctx context.Context, u api.User, id string) (api.Meeting, error) {
	m, err := s.store.Meeting(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return api.Meeting{}, api.Err(api.CodeMeetingNotFound)
	} else if err != nil {
		return api.Meeting{}, err
	}
	if !Invited(m, u) {
		return api.Meeting{}, api.Err(api.CodeMeetingNotFound)
	}
	if !s.now().Before(m.Ends()) {
		return api.Meeting{}, api.Err(api.CodeMeetingOver)
	}
	return m, nil
}

// Invited reports whether u may see and join m.
func Invited(m api.Meeting, u api.User) bool {
	return m.CreatedBy == u.ID || (m.Department != "" && m.Department == u.Department) || slices.Contains(m.Invitees, u.ID)
}

func randomID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
