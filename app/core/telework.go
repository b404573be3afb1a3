package core

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Telework is the signed-in user's telework as the faces show it (issue
// 18): their day and requests and, for an approver, the section's
// pending requests and today's record. Like State it is a snapshot:
// core replaces it whole and never changes one handed out.
type Telework struct {
	Today *api.TeleworkToday // the caller's day: policy, day off, record, open requests
	Mine  []api.TeleworkRequest
	// Approver: the caller decides their section's requests (a
	// supervisor, an approver IT named, a stand-in today).
	Approver  bool
	Approvals []api.TeleworkRequest
	Section   *api.TeleworkSection // nil unless Approver
	// Notice is the last telework event (a decision, a request to decide,
	// a start or end of work), numbered so the faces notify each once.
	Notice    api.TeleworkNotice
	NoticeSeq int
	// Err is why the last read failed (the faces keep what they showed).
	Err *api.Error
}

// Started reports whether "start work" was pressed today: the place of
// work is set only by it (a connect alone starts the record, not the
// day's declared work, and leaves the place unchosen).
func (t *Telework) Started() bool {
	return t != nil && t.Today != nil && t.Today.Day.Place != ""
}

// teleworkEvery is how often the telework view is re-read: the section's
// "connected" column changes with no event of its own.
const teleworkEvery = 2 * time.Minute

// keepTelework reads the telework view now, on each telework event and
// every teleworkEvery until the session ends.
func (c *Client) keepTelework(ctx context.Context, kick <-chan struct{}) {
	c.RefreshTelework(ctx)
	t := time.NewTicker(teleworkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		c.RefreshTelework(ctx)
	}
}

// RefreshTelework re-reads the caller's day, requests and, for an
// approver, the section. A failed read keeps the last view and sets Err.
func (c *Client) RefreshTelework(ctx context.Context) {
	tw := &Telework{}
	var errs []error
	today, err := c.api.TeleworkToday(ctx)
	if err == nil {
		tw.Today = today
	} else {
		errs = append(errs, err)
	}
	if mine, err := c.api.MyTeleworkRequests(ctx); err == nil {
		tw.Mine = mine.Requests
	} else {
		errs = append(errs, err)
	}
	switch sec, err := c.api.TeleworkSection(ctx, ""); {
	case err == nil:
		tw.Approver, tw.Section, tw.Approvals = true, sec, sec.Pending
	case isCode(err, api.CodeTeleworkNotApprover):
		// Not an approver (today): no approval screen.
	default:
		errs = append(errs, err)
	}
	if ctx.Err() != nil {
		return
	}
	c.update(func(s *State) {
		if s.Phase == SignedOut {
			return
		}
		prev := s.Telework
		if prev != nil {
			tw.Notice, tw.NoticeSeq = prev.Notice, prev.NoticeSeq
		}
		if len(errs) > 0 {
			e := api.AsError(errs[0])
			if e == nil {
				e = api.Err(api.CodeNetwork, errs[0].Error())
			}
			if prev == nil {
				prev = &Telework{}
			}
			// Keep what was read before; say why nothing newer shows.
			kept := *prev
			kept.Err = e
			if tw.Today != nil {
				kept.Today = tw.Today
			}
			s.Telework = &kept
			return
		}
		s.Telework = tw
	})
}

// teleworkEvent takes a telework.* frame from the event socket: it
// becomes the notice and the view is read again (off the socket's
// reader, which must not block).
func (c *Client) teleworkEvent(ev api.Event, kick chan<- struct{}) {
	var n api.TeleworkNotice
	if err := json.Unmarshal(ev.Data, &n); err != nil {
		c.log.Warn("telework event", "type", ev.Type, "err", err)
		return
	}
	c.update(func(s *State) {
		tw := &Telework{}
		if s.Telework != nil {
			*tw = *s.Telework
		}
		tw.Notice, tw.NoticeSeq = n, tw.NoticeSeq+1
		s.Telework = tw
	})
	select {
	case kick <- struct{}{}:
	default:
	}
}

func isTeleworkEvent(typ string) bool { return strings.HasPrefix(typ, "telework.") }

// RequestTelework asks for telework; the view is read again after.
func (c *Client) RequestTelework(ctx context.Context, req api.TeleworkRequestCreate) (*api.TeleworkRequest, error) {
	r, err := c.api.RequestTelework(ctx, req)
	if err != nil {
		return nil, c.fail(err)
	}
	c.record("telework.requested", "request", r.ID, "from", r.From, "to", r.To, "reason", r.Reason, "state", r.State)
	c.RefreshTelework(ctx)
	return r, nil
}

// WithdrawTelework withdraws one's own request.
func (c *Client) WithdrawTelework(ctx context.Context, id string) error {
	if _, err := c.api.WithdrawTelework(ctx, id); err != nil {
		return c.fail(err)
	}
	c.record("telework.withdrawn", "request", id)
	c.RefreshTelework(ctx)
	return nil
}

// DecideTelework approves or declines a request of the caller's section.
func (c *Client) DecideTelework(ctx context.Context, id string, approve bool, comment string) error {
	r, err := c.api.DecideTelework(ctx, id, api.TeleworkDecision{Approve: approve, Comment: comment})
	if err != nil {
		return c.fail(err)
	}
	c.record("telework.decided", "request", id, "state", r.State)
	c.RefreshTelework(ctx)
	return nil
}

// StartWork records the start of work at a place (api.Place*); the
// broker tells the supervisor.
func (c *Client) StartWork(ctx context.Context, place string) error {
	if _, err := c.api.StartWork(ctx, place); err != nil {
		return c.fail(err)
	}
	c.record("telework.work_start", "place", place)
	c.RefreshTelework(ctx)
	return nil
}

// EndWork records the end of work.
func (c *Client) EndWork(ctx context.Context) error {
	if _, err := c.api.EndWork(ctx); err != nil {
		return c.fail(err)
	}
	c.record("telework.work_end")
	c.RefreshTelework(ctx)
	return nil
}

// fail notes err for diagnostics and returns it as the faces get it: an
// *api.Error with what to do, or err itself (a cancelled call).
func (c *Client) fail(err error) error {
	if e := c.noteError(err); e != nil {
		return e
	}
	return err
}

func isCode(err error, code api.Code) bool {
	e := api.AsError(err)
	return e != nil && e.Code == code
}

// SetStandIn names a colleague who decides the section's requests in
// the caller's place between two dates (代理承認).
func (c *Client) SetStandIn(ctx context.Context, standIn, from, to string) error {
	if _, err := c.api.SetTeleworkStandIn(ctx, api.TeleworkStandIn{StandIn: standIn, From: from, To: to}); err != nil {
		return c.fail(err)
	}
	c.record("telework.stand_in", "stand_in", standIn, "from", from, "to", to)
	return nil
}
