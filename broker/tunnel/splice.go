package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Splice relays between a and b until both directions end or one fails,
// then closes both. aToB and bToA (may be nil) count the bytes as they
// pass, so that others can read them while the tunnel runs. Closing a or
// b from another goroutine ends the splice. also, when given, is a second
// pair of counters (aToB, bToA) such as totals over several splices. The
// error is the first failure other than the connections being closed.
func Splice(a, b net.Conn, aToB, bToA *atomic.Int64, also ...*atomic.Int64) error {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			a.Close()
			b.Close()
		})
	}
	defer closeBoth()
	errc := make(chan error, 2)
	var alsoAB, alsoBA *atomic.Int64
	if len(also) == 2 {
		alsoAB, alsoBA = also[0], also[1]
	}
	go func() { errc <- pipe(b, a, aToB, alsoAB) }()
	go func() { errc <- pipe(a, b, bToA, alsoBA) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil {
			if first == nil && !errors.Is(err, net.ErrClosed) {
				first = err
				// A failure (a cut tunnel, a reset) must not look like the
				// end of the stream to the RDP client or the office PC:
				// they get a reset, not a FIN or a close_notify.
				once.Do(func() {
					Abort(a)
					Abort(b)
				})
			}
			closeBoth() // one side failed: the other direction is meaningless
		}
	}
	return first
}

// pipe copies src to dst with its own loop: io.CopyBuffer would hand the
// work to a ReaderFrom/WriterTo (32 KiB chunks) and skip our buffer. At
// src's EOF it half-closes dst so the peer sees the end of the stream.
func pipe(dst, src net.Conn, count, also *atomic.Int64) error {
	buf := make([]byte, copyBufMin)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			if count != nil {
				count.Add(int64(n))
			}
			if also != nil {
				also.Add(int64(n))
			}
			if n == len(buf) && len(buf) < CopyBufferMax {
				buf = make([]byte, CopyBufferMax)
			}
		}
		if err == io.EOF {
			closeWrite(dst)
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// closeWrite half-closes c. Its failure is not reported: it means the
// peer is already gone, and there is nothing left to deliver to it.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// Stats describes one forwarded connection once it has ended.
type Stats struct {
	Up, Down int64 // bytes from the local client to the broker, and back
	Duration time.Duration
	Err      error // the dial or relay failure, nil on a clean end
}

// Forwarder accepts connections on a listener (the app's 127.0.0.1 one)
// and carries each over its own connection from Dial, typically
// api.Client.DialTunnel for the granted slot.
type Forwarder struct {
	Dial func(ctx context.Context) (net.Conn, error)
	Done func(Stats) // may be nil; called as each connection ends
	// Up and Down count the bytes of all connections as they pass.
	Up, Down atomic.Int64
}

// Serve forwards ln's connections until ctx ends or ln fails. It returns
// after closing ln and every forwarded connection.
func (f *Forwarder) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	for {
		local, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := f.forwardOne(ctx, local)
			if f.Done != nil {
				f.Done(st)
			}
		}()
	}
}

func (f *Forwarder) forwardOne(ctx context.Context, local net.Conn) Stats {
	start := time.Now()
	TuneSocket(local)
	remote, err := f.Dial(ctx)
	if err != nil {
		local.Close()
		return Stats{Err: err, Duration: time.Since(start)}
	}
	stop := context.AfterFunc(ctx, func() {
		local.Close()
		remote.Close()
	})
	defer stop()
	var up, down atomic.Int64
	err = Splice(local, remote, &up, &down, &f.Up, &f.Down)
	return Stats{Up: up.Load(), Down: down.Load(), Duration: time.Since(start), Err: err}
}
