package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// receiver is a member's app as far as chat goes: an event socket, a
// ChatFeed, and what it showed, checked for exactly once and in order.
type receiver struct {
	t    *testing.T
	s    *brokertest.Session
	feed *api.ChatFeed

	mu     sync.Mutex
	got    map[string][]api.ChatMessage
	dups   int
	resync int
	after  int64 // the event socket's own sequence (non-chat events)
	// How messages arrived: live frames, gaps a frame revealed, catch-ups.
	live, filled, caughtUp int
	// purged: a channel may start past 1 (its oldest entries are gone).
	purged bool
}

func newReceiver(t *testing.T, s *brokertest.Session) *receiver {
	r := &receiver{t: t, s: s, got: map[string][]api.ChatMessage{}}
	r.feed = api.NewChatFeed(s.Client, nil, r.deliver)
	return r
}

func (r *receiver) deliver(m api.ChatMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.got[m.Channel]
	if n := len(prev); n > 0 && m.Seq != prev[n-1].Seq+1 {
		r.t.Errorf("channel %s: seq %d after %d", m.Channel, m.Seq, prev[n-1].Seq)
	}
	if n := len(prev); n == 0 && m.Seq != 1 && !r.purged {
		r.t.Errorf("channel %s: first seq %d", m.Channel, m.Seq)
	}
	for _, p := range prev {
		if p.Seq == m.Seq {
			r.dups++
		}
	}
	r.got[m.Channel] = append(prev, m)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ms := range r.got {
		n += len(ms)
	}
	return n
}

// connect opens the socket, waits for its hello and catches up: the
// order every app follows, so that nothing falls between history and
// live frames.
func (r *receiver) connect(ctx context.Context) (*api.EventStream, error) {
	es, err := r.s.DialEvents(ctx, r.after)
	if err != nil {
		return nil, err
	}
	ev, err := es.Next(ctx)
	if err != nil {
		return nil, err
	}
	if ev.Type != api.EventHello {
		return nil, fmt.Errorf("first frame %q, want hello", ev.Type)
	}
	before := r.count()
	if err := r.feed.Catchup(ctx); err != nil {
		es.Close()
		return nil, err
	}
	r.caughtUp += r.count() - before
	return es, nil
}

// read handles frames until n chat messages came live or the socket ends.
func (r *receiver) read(ctx context.Context, es *api.EventStream, n int) error {
	for i := 0; i < n; {
		ev, err := es.Next(ctx)
		if err != nil {
			return err
		}
		switch {
		case ev.Type == api.EventResync:
			r.resync++
		case ev.Seq > 0:
			r.after = ev.Seq
		}
		before := r.count()
		chat, err := r.feed.Apply(ctx, ev)
		if err != nil {
			return err
		}
		if d := r.count() - before; d > 0 {
			r.live++
			r.filled += d - 1
		}
		if chat {
			i++
		}
	}
	return nil
}

// sendAll sends n messages to a channel in order, retrying each with its
// key on any failure (and now and then for no reason, as an app does
// when an answer is lost); it returns the texts as stored, by seq.
func sendAll(t *testing.T, s *brokertest.Session, channel string, n int, rnd *rand.Rand, mu *sync.Mutex) []string {
	t.Helper()
	var texts []string
	for i := range n {
		req := api.ChatSendRequest{Key: fmt.Sprintf("%s-%d", channel, i), Text: fmt.Sprintf("%s の連絡 %d 番", channel, i)}
		var seq int64
		mu.Lock()
		retries := rnd.IntN(10) == 0
		mu.Unlock()
		for try := 0; ; try++ {
			m, err := s.ChatSend(context.Background(), channel, req)
			if err != nil {
				if try < 5 {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				t.Errorf("send %s: %v", req.Key, err)
				return texts
			}
			if seq != 0 && m.Seq != seq {
				t.Errorf("send %s again: seq %d, first %d: stored twice", req.Key, m.Seq, seq)
			}
			seq = m.Seq
			if !retries || try > 0 {
				break
			}
		}
		texts = append(texts, req.Text)
	}
	return texts
}

// checkExactlyOnce compares what the receiver showed with what was sent.
func checkExactlyOnce(t *testing.T, r *receiver, sent map[string][]string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dups > 0 {
		t.Errorf("%d messages shown twice", r.dups)
	}
	for ch, want := range sent {
		var got []string
		for i, m := range r.got[ch] {
			if m.Seq != int64(i+1) {
				t.Errorf("channel %s: entry %d has seq %d", ch, i, m.Seq)
				break
			}
			got = append(got, m.Text)
		}
		if !slices.Equal(got, want) {
			t.Errorf("channel %s: showed %d messages, sent %d (or another order)", ch, len(got), len(want))
		}
	}
}

// threeChannels signs in alice and bob (both of 総務課) and returns their
// department channel, a group and their direct channel.
func threeChannels(t *testing.T, b *brokertest.Broker) (alice, bob *brokertest.Session, channels []string) {
	t.Helper()
	ctx := context.Background()
	alice, bob = b.Signin(t, "alice"), b.Signin(t, "bob")
	l, err := alice.ChatChannels(ctx)
	if err != nil || len(l.Channels) != 1 || l.Channels[0].Kind != api.ChatDepartment {
		t.Fatalf("alice's channels: %+v %v, want her department's", l, err)
	}
	g, err := alice.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "窓口応援", Members: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := alice.ChatDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob, []string{l.Channels[0].ID, g.ID, d.ID}
}

// TestChatReconnectRandomDrops sends 1,200 messages over three channels
// while the receiver's socket is cut at random points (by the app, by
// the broker, mid-read), and checks that every message is shown exactly
// once, in order.
func TestChatReconnectRandomDrops(t *testing.T) {
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	const perChannel = 400
	rnd := rand.New(rand.NewPCG(13, uint64(time.Now().UnixNano())))
	var rndMu sync.Mutex
	r := newReceiver(t, bob)

	sent := map[string][]string{}
	var sentMu sync.Mutex
	var wg sync.WaitGroup
	for _, ch := range channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			texts := sendAll(t, alice, ch, perChannel, rnd, &rndMu)
			sentMu.Lock()
			sent[ch] = texts
			sentMu.Unlock()
		}()
	}
	sendersDone := make(chan struct{})
	go func() { wg.Wait(); close(sendersDone) }()

	total := perChannel * len(channels)
	deadline := time.Now().Add(2 * time.Minute)
	drops := map[string]int{}
	start := time.Now()
	for r.count() < total && time.Now().Before(deadline) && !t.Failed() {
		select {
		case <-sendersDone:
			// Everything is stored: the quiet connection below has the rest.
			deadline = time.Now()
			continue
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// If the senders finish meanwhile, no frame is coming to wait
		// for: the read ends there (one more cut).
		stop := make(chan struct{})
		go func() {
			select {
			case <-sendersDone:
				cancel()
			case <-stop:
			}
		}()
		es, err := r.connect(ctx)
		if err != nil {
			close(stop)
			cancel()
			if !isEnd(err) {
				t.Logf("connect: %v", err)
			}
			continue
		}
		rndMu.Lock()
		n, how := rnd.IntN(40), rnd.IntN(3)
		rndMu.Unlock()
		switch how {
		case 0: // the app closes the socket after n messages
			err = r.read(ctx, es, n)
			es.Close()
			drops["app closed"]++
		case 1: // the broker cuts it after n messages
			err = r.read(ctx, es, n)
			b.Services.Events.CloseUser("bob")
			_ = r.read(ctx, es, 1<<30) // until the close arrives
			drops["broker cut"]++
		default: // the network goes while a frame may be on its way
			rctx, rcancel := context.WithTimeout(ctx, time.Duration(1+n)*time.Millisecond)
			err = r.read(rctx, es, 1<<30)
			rcancel()
			es.Close()
			drops["read cut"]++
		}
		close(stop)
		cancel()
		if err != nil && !isEnd(err) {
			t.Logf("read: %v", err)
		}
	}
	<-sendersDone
	// A last, quiet connection: whatever is left comes from the catch-up.
	if r.count() < total {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if es, err := r.connect(ctx); err == nil {
			es.Close()
		}
		cancel()
	}
	checkExactlyOnce(t, r, sent)
	// Stored once per channel, never once per member.
	var stored, perUser int
	if err := b.Store.R.QueryRowContext(context.Background(), `SELECT (SELECT COUNT(*) FROM chat_messages),
		(SELECT COUNT(*) FROM events WHERE type LIKE 'chat.%')`).Scan(&stored, &perUser); err != nil {
		t.Fatal(err)
	}
	if stored != total || perUser != 0 {
		t.Errorf("%d chat rows and %d per-user event rows for %d messages to two members: want %d and 0", stored, perUser, total, total)
	}
	nd := 0
	for _, v := range drops {
		nd += v
	}
	t.Logf("%d messages over %d channels (%d live, %d filled from a gap, %d caught up after a reconnect), %d drops %v, in %v",
		r.count(), len(channels), r.live, r.filled, r.caughtUp, nd, drops, time.Since(start).Round(time.Millisecond))
	if nd < 20 {
		t.Errorf("only %d drops: the test did not cut the connection often enough", nd)
	}
}

func isEnd(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || api.AsError(err) != nil
}

// TestChatResumeAfterBrokerRestart: messages sent while the receiver is
// away, a broker restart on the same data directory, a send retried
// across the restart, more messages after it; the receiver resumes from
// its last sequences and shows each message once, in order, then goes on
// live.
func TestChatResumeAfterBrokerRestart(t *testing.T) {
	ctx := context.Background()
	dir, clock := t.TempDir(), brokertest.NewClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	b1 := brokertest.Start(t, brokertest.WithDataDir(dir), brokertest.WithClock(clock))
	alice, bob, channels := threeChannels(t, b1)
	r := newReceiver(t, bob)
	sent := map[string][]string{}
	// Each batch has keys of its own.
	batch := 0
	sendBatch := func(s *brokertest.Session, n int) {
		batch++
		for _, ch := range channels {
			for i := range n {
				req := api.ChatSendRequest{Key: fmt.Sprintf("b%d-%s-%d", batch, ch, i), Text: fmt.Sprintf("第%d便 %d", batch, i)}
				if _, err := s.ChatSend(ctx, ch, req); err != nil {
					t.Fatalf("send: %v", err)
				}
				sent[ch] = append(sent[ch], req.Text)
			}
		}
	}

	// Online: 50 per channel, live.
	es, err := r.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendBatch(alice, 50)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := r.read(rctx, es, 150); err != nil {
		t.Fatal(err)
	}
	cancel()
	es.Close()
	// Away: 100 per channel; one send's answer is "lost" (its key is
	// sent again after the restart).
	sendBatch(alice, 100)
	lost := api.ChatSendRequest{Key: "lost-answer", Text: "再起動をまたぐ送信"}
	first, err := alice.ChatSend(ctx, channels[1], lost)
	if err != nil {
		t.Fatal(err)
	}
	sent[channels[1]] = append(sent[channels[1]], lost.Text)

	b1.Stop()
	b2 := brokertest.Start(t, brokertest.WithDataDir(dir), brokertest.WithClock(clock))
	// The same sign-ins, against the new process's address.
	re := func(s *brokertest.Session) *brokertest.Session {
		c := b2.Client(t)
		c.SetToken(s.Token())
		return &brokertest.Session{Client: c, User: s.User, Key: s.Key, Login: s.Login}
	}
	alice, bob = re(alice), re(bob)
	r.s = bob
	r.feed = api.NewChatFeed(bob.Client, r.feed.Last(), r.deliver)

	again, err := alice.ChatSend(ctx, channels[1], lost)
	if err != nil || again.Seq != first.Seq {
		t.Fatalf("the retried send after the restart: %+v %v, want seq %d (stored once)", again, err, first.Seq)
	}
	sendBatch(alice, 100)
	es, err = r.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	caught := r.caughtUp
	// Live again after the catch-up.
	sendBatch(alice, 20)
	rctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.read(rctx, es, 60); err != nil {
		t.Fatal(err)
	}
	es.Close()
	checkExactlyOnce(t, r, sent)
	if caught != 601 {
		t.Errorf("caught up %d messages after the restart, want 601", caught)
	}
	t.Logf("%d messages; %d caught up after the restart, %d live", r.count(), caught, r.live)
}

// TestChatResumeAfterReplayWindow: the receiver is away longer than the
// event socket keeps events (events.Retention), so the socket says
// resync; chat never depended on that window, and the feed pages all
// 1,100 missed messages from the store, several pages per channel.
func TestChatResumeAfterReplayWindow(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	r := newReceiver(t, bob)
	sent := map[string][]string{}
	es, err := r.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A stored event, so that the socket has something to replay.
	b.Services.Events.Publish("bob", api.EventWake, api.WakeProgress{Stage: api.WakeReady})
	if err := r.readUntilSeq(ctx, es, 1); err != nil {
		t.Fatal(err)
	}
	es.Close()
	ch := channels[0]
	for i := range 1100 {
		req := api.ChatSendRequest{Key: fmt.Sprint("w", i), Text: fmt.Sprintf("夜間の連絡 %d", i)}
		if _, err := alice.ChatSend(ctx, ch, req); err != nil {
			t.Fatal(err)
		}
		sent[ch] = append(sent[ch], req.Text)
	}
	b.Services.Events.Publish("bob", api.EventWake, api.WakeProgress{Stage: api.WakeWaking})
	if err := b.Services.Events.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(25 * time.Hour)
	if _, err := b.Services.Events.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	// The laptop slept through: its access token expired, the refresh
	// token has not.
	if _, err := bob.Refresh(ctx, bob.RefreshRequest(b.Now())); err != nil {
		t.Fatal(err)
	}
	es, err = r.s.DialEvents(ctx, r.after)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	for range 2 { // hello, then resync
		ev, err := es.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == api.EventResync {
			r.resync++
		}
	}
	if r.resync != 1 {
		t.Fatalf("the socket did not say resync after a gap longer than %v", 24*time.Hour)
	}
	if err := r.feed.Catchup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range channels[1:] {
		sent[c] = nil
	}
	checkExactlyOnce(t, r, sent)
	t.Logf("%d messages paged in after a 25 h gap (history pages of %d)", r.count(), r.feed.Page)
}

func (r *receiver) readUntilSeq(ctx context.Context, es *api.EventStream, seq int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for r.after < seq {
		ev, err := es.Next(ctx)
		if err != nil {
			return err
		}
		if ev.Seq > 0 {
			r.after = ev.Seq
		}
		if _, err := r.feed.Apply(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// TestChatReconnectGapFill: a live frame past a gap (frames lost in a
// cut the app did not notice yet) first pages in the gap; frames already
// shown are dropped.
func TestChatReconnectGapFill(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	ch := channels[1]
	var last api.ChatMessage
	for i := range 5 {
		m, err := alice.ChatSend(ctx, ch, api.ChatSendRequest{Key: fmt.Sprint("g", i), Text: fmt.Sprint("欠番 ", i)})
		if err != nil {
			t.Fatal(err)
		}
		last = *m
	}
	r := newReceiver(t, bob)
	r.feed.Page = 2
	frame := func(m api.ChatMessage) api.Event {
		b, _ := json.Marshal(m)
		return api.Event{Type: api.EventChatMessage, Data: b}
	}
	if _, err := r.feed.Apply(ctx, frame(last)); err != nil {
		t.Fatal(err)
	}
	h, _ := bob.ChatAfter(ctx, ch, 2, 1)
	if _, err := r.feed.Apply(ctx, frame(h.Messages[0])); err != nil { // seq 3 again
		t.Fatal(err)
	}
	checkExactlyOnce(t, r, map[string][]string{ch: {"欠番 0", "欠番 1", "欠番 2", "欠番 3", "欠番 4"}})
}

// TestChatReconnectJoinedGroup: someone added to a group with history
// gets it all through the feed (the chat.channel frame), then the live
// messages, each once.
func TestChatReconnectJoinedGroup(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, _, channels := threeChannels(t, b)
	carol := b.Signin(t, "carol")
	g := channels[1]
	var want []string
	for i := range 30 {
		text := fmt.Sprint("加入前 ", i)
		if _, err := alice.ChatSend(ctx, g, api.ChatSendRequest{Key: fmt.Sprint("p", i), Text: text}); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	r := newReceiver(t, carol)
	r.feed.Page = 7
	es, err := r.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	if _, err := alice.ChatAddMembers(ctx, g, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		text := fmt.Sprint("加入後 ", i)
		if _, err := alice.ChatSend(ctx, g, api.ChatSendRequest{Key: fmt.Sprint("q", i), Text: text}); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for r.count() < len(want) {
		ev, err := es.Next(rctx)
		if err != nil {
			t.Fatalf("after %d of %d: %v", r.count(), len(want), err)
		}
		if _, err := r.feed.Apply(rctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	checkExactlyOnce(t, r, map[string][]string{g: want})
}

// TestChatDepartmentStoredOnce: a department of 300; 40 of them have
// the app open. Each message to the department's channel is one row,
// and reaches every open app once, in order.
func TestChatDepartmentStoredOnce(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, _, channels := threeChannels(t, b)
	dept := channels[0]
	var open []*receiver
	var socks []*api.EventStream
	for i := range 298 {
		u := b.CreateUser(t, fmt.Sprintf("s%03d", i))
		if i < 40 {
			r := newReceiver(t, b.Login(t, u))
			es, err := r.connect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer es.Close()
			open, socks = append(open, r), append(socks, es)
		}
	}
	var want []string
	for i := range 20 {
		text := fmt.Sprint("全員へ ", i)
		if _, err := alice.ChatSend(ctx, dept, api.ChatSendRequest{Key: fmt.Sprint("all", i), Text: text}); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for i, r := range open {
		if err := r.read(rctx, socks[i], len(want)); err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		checkExactlyOnce(t, r, map[string][]string{dept: want})
	}
	var stored, perUser int
	if err := b.Store.R.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM chat_messages WHERE channel_id = ?),
		(SELECT COUNT(*) FROM events WHERE type LIKE 'chat.%')`, dept).Scan(&stored, &perUser); err != nil {
		t.Fatal(err)
	}
	if stored != len(want) || perUser != 0 {
		t.Errorf("%d rows in the channel and %d per-user rows for %d messages to 300 members", stored, perUser, len(want))
	}
	l, err := alice.ChatChannel(ctx, dept)
	if err != nil || len(l.Members) != 300 {
		t.Errorf("the department channel has %d members, want 300 (the roster): %v", len(l.Members), err)
	}
	t.Logf("%d messages × %d open apps delivered, %d rows stored", len(want), len(open), stored)
}
