package terminal

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Prober tells whether an office PC's RDP port (host:port) answers
// (*wake.Waker implements it).
type Prober interface {
	Probe(ctx context.Context, addr string) bool
}

// Probing is how Run keeps the PCs' states fresh.
type Probing struct {
	Prober   Prober
	Every    time.Duration // between rounds (default 1 min)
	Parallel int           // probes at once (default 16)
}

// probeState is what the probe loop knows beyond the store: when each PC
// last answered. It is memory only: after a restart the first round
// (at once) fills it again.
type probeState struct {
	mu   sync.Mutex // guards seen, misses
	seen map[string]time.Time
	// misses counts the rounds in a row a PC did not answer: a PC that
	// answered before is called asleep only after missesAsleep of them,
	// since an RDP server busy with a session (or just ending one) can
	// miss one probe.
	misses map[string]int
	kick   chan struct{} // a change by IT: probe now rather than at the next round (made by New)
}

// Run probes every paired or pooled office PC's RDP port now, then every
// p.Every and after each change IT makes, and records it awake or asleep
// with the time it last answered, so the app can show the state before
// anyone presses Connect. Its cost is bounded by the number of PCs, not
// by how many apps ask: the apps read the stored state. It returns when
// ctx ends.
func (s *Service) Run(ctx context.Context, p Probing) {
	if p.Prober == nil {
		return
	}
	if p.Every <= 0 {
		p.Every = time.Minute
	}
	if p.Parallel <= 0 {
		p.Parallel = 16
	}
	t := time.NewTicker(p.Every)
	defer t.Stop()
	for {
		s.probeRound(ctx, p)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.probe.kick:
		}
	}
}

func (s *Service) probeRound(ctx context.Context, p Probing) {
	ts, err := s.st.ListTerminals(ctx)
	if err != nil {
		return // the next round tries again
	}
	sem := make(chan struct{}, p.Parallel)
	var wg sync.WaitGroup
	for _, t := range ts {
		if t.UserID == "" && !t.Pool {
			continue // nobody can connect to it
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			awake := p.Prober.Probe(ctx, net.JoinHostPort(t.Address, strconv.Itoa(t.RDPPort)))
			if ctx.Err() != nil {
				return
			}
			state := api.TerminalAsleep
			s.probe.mu.Lock()
			if s.probe.seen == nil {
				s.probe.seen, s.probe.misses = map[string]time.Time{}, map[string]int{}
			}
			if awake {
				state = api.TerminalAwake
				s.probe.seen[t.ID] = s.now()
				s.probe.misses[t.ID] = 0
			} else if s.probe.misses[t.ID]++; t.State == api.TerminalAwake && s.probe.misses[t.ID] < missesAsleep {
				state = api.TerminalAwake // one miss: keep what it was
			}
			s.probe.mu.Unlock()
			if state != t.State {
				_ = s.st.SetTerminalState(ctx, t.ID, state, s.now())
			}
		}()
	}
	wg.Wait()
}

// missesAsleep is how many rounds in a row an awake PC must miss before
// it is shown asleep.
const missesAsleep = 2

// kickProbe asks Run for a round now (a PC was added or changed).
func (s *Service) kickProbe() {
	select {
	case s.probe.kick <- struct{}{}:
	default:
	}
}

// withSeen adds when the PC last answered a probe.
func (s *Service) withSeen(t api.Terminal) api.Terminal {
	s.probe.mu.Lock()
	t.SeenAt = s.probe.seen[t.ID]
	s.probe.mu.Unlock()
	return t
}
