package office_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// line is a TCP relay between the browser and the broker that the test
// can cut (every connection through it closed at once) and hold down
// (new connections refused) — a network that fails, as office networks do.
type line struct {
	ln     net.Listener
	target string
	mu     sync.Mutex // guards conns and down
	conns  map[net.Conn]bool
	down   bool
}

func newLine(t *testing.T, brokerURL string) *line {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &line{ln: ln, target: strings.TrimPrefix(brokerURL, "https://"), conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); l.cut(false) })
	go l.serve()
	return l
}

// URL is the broker's address through the line.
func (l *line) URL() string { return "https://" + l.ln.Addr().String() }

func (l *line) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		down := l.down
		if !down {
			l.conns[c] = true
		}
		l.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		go l.relay(c)
	}
}

func (l *line) relay(c net.Conn) {
	defer l.forget(c)
	b, err := net.Dial("tcp4", l.target)
	if err != nil {
		return
	}
	l.mu.Lock()
	if l.down || !l.conns[c] {
		l.mu.Unlock()
		b.Close()
		return
	}
	l.conns[b] = true
	l.mu.Unlock()
	defer l.forget(b)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
}

func (l *line) forget(c net.Conn) {
	c.Close()
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// cut closes every connection through the line; with down, it also
// refuses new ones until up. A cut without down leaves a line that is
// down, down.
func (l *line) cut(down bool) {
	l.mu.Lock()
	l.down = l.down || down
	cs := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		cs = append(cs, c)
	}
	l.conns = map[net.Conn]bool{}
	l.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

func (l *line) up() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}
