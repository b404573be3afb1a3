package chat_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// workTime is a Wednesday 10:00 in Tokyo: inside the default working time,
// so notices are not held back by the quiet hours.
var workTime = time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)

// line forwards TCP to the broker and can be cut: the laptop's network.
type line struct {
	ln     net.Listener
	target string

	mu    sync.Mutex // guards conns, down
	conns map[net.Conn]struct{}
	down  bool
}

func newLine(t *testing.T, brokerURL string) *line {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &line{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); l.set(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go l.serve(c)
		}
	}()
	return l
}

func (l *line) url() string { return "https://" + l.ln.Addr().String() }

func (l *line) serve(c net.Conn) {
	l.mu.Lock()
	if l.down {
		l.mu.Unlock()
		c.Close()
		return
	}
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		c.Close()
		return
	}
	l.mu.Lock()
	if l.down {
		l.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	l.conns[up] = struct{}{}
	l.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// set cuts every connection and, with down, refuses new ones until
// set(false).
func (l *line) set(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
	if down {
		l.cutLocked()
	}
}

// cut drops every open connection (a blip: new ones are taken).
func (l *line) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cutLocked()
}

func (l *line) cutLocked() {
	for c := range l.conns {
		c.Close()
	}
	l.conns = map[net.Conn]struct{}{}
}

// laptop is an app's chat behind a line: a signed-in client through it,
// the event socket loop core runs, and app/chat on top.
type laptop struct {
	line *line
	api  *api.Client
	chat *chat.Client
	// dials counts the event socket's (re)connects.
	mu    sync.Mutex
	dials int
}

// newLaptop signs id in (created by the caller) and runs its chat
// through a line of its own.
func newLaptop(t *testing.T, b *brokertest.Broker, s *brokertest.Session, opt chat.Options) *laptop {
	t.Helper()
	l := &laptop{line: newLine(t, b.URL)}
	a, err := api.NewClient(l.line.url(), api.ClientOptions{Pins: []string{b.Pin}})
	if err != nil {
		t.Fatal(err)
	}
	a.SetToken(s.Login.AccessToken)
	// One request first, as core's sign-in is: the HTTP transport sets up
	// its shared TLS config on first use, which races a socket dial that
	// clones it (broker/api; core always signs in before it dials).
	if _, err := a.ChatChannels(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.api = a
	if opt.Now == nil {
		opt.Now = func() time.Time { return workTime }
	}
	if opt.RetryMin == 0 {
		opt.RetryMin, opt.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	}
	l.chat = chat.New(opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); close(done) })
	l.chat.Start(a, s.User.ID, done)
	go l.socket(ctx)
	return l
}

// socket is core's event loop (app/core/events.go) as far as chat sees
// it: hello → Subscribed, chat frames → Event, a failure → Down, then a
// short wait and a resume after the last numbered event.
func (l *laptop) socket(ctx context.Context) {
	var after int64
	for ctx.Err() == nil {
		es, err := l.api.DialEvents(ctx, after)
		if err == nil {
			l.mu.Lock()
			l.dials++
			l.mu.Unlock()
			for {
				ev, err := es.Next(ctx)
				if err != nil {
					break
				}
				switch {
				case ev.Type == api.EventHello:
					l.chat.Subscribed()
				case strings.HasPrefix(ev.Type, "chat."):
					l.chat.Event(ev)
				case ev.Seq > 0:
					after = ev.Seq
				}
			}
			es.Close()
			l.chat.Down()
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *laptop) dialCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dials
}

// waitUntil polls cond until it holds or the time is up.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// department returns the id of the caller's department channel.
func department(t *testing.T, s *brokertest.Session) string {
	t.Helper()
	l, err := s.ChatChannels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range l.Channels {
		if c.Kind == api.ChatDepartment {
			return c.ID
		}
	}
	t.Fatal("no department channel")
	return ""
}

// stored reads a channel's whole history from the broker.
func stored(t *testing.T, s *brokertest.Session, channel string) []api.ChatMessage {
	t.Helper()
	var out []api.ChatMessage
	var after int64
	for {
		h, err := s.ChatAfter(context.Background(), channel, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Messages...)
		if len(h.Messages) == 0 || !h.More {
			return out
		}
		after = h.Messages[len(h.Messages)-1].Seq
	}
}
