package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// EventStream is an open event socket. Next is not safe for concurrent use.
type EventStream struct {
	conn   *websocket.Conn
	closed websocket.StatusCode // set by Next when the socket ends
}

// DialEvents opens the event socket and asks for the events after seq
// after (0: from the start of what the broker keeps).
func (c *Client) DialEvents(ctx context.Context, after int64) (*EventStream, error) {
	var es *EventStream
	err := c.withToken(true, func(tok string) (err error) {
		es, err = c.dialEvents(ctx, after, tok)
		return err
	})
	return es, err
}

func (c *Client) dialEvents(ctx context.Context, after int64, tok string) (*EventStream, error) {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/events"
	u.RawQuery = "after=" + strconv.FormatInt(after, 10)
	// WebSockets need HTTP/1.1 (the broker also speaks h2), and a socket
	// lives longer than any request timeout.
	tlsc := c.tlsc.Clone()
	tlsc.NextProtos = []string{"http/1.1"}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsc,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	hdr := http.Header{}
	if tok != "" {
		hdr.Set("Authorization", "Bearer "+tok)
	}
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr}, HTTPHeader: hdr})
	if err != nil {
		tr.CloseIdleConnections()
		if e := AsError(err); e != nil {
			return nil, e
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != nil {
			return nil, DecodeError(resp)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, Err(CodeNetwork, err.Error())
	}
	conn.SetReadLimit(1 << 20)
	return &EventStream{conn: conn, closed: -1}, nil
}

// Next waits for the next event. The socket is dead after any error: dial
// again with the last Seq seen.
func (s *EventStream) Next(ctx context.Context) (Event, error) {
	var ev Event
	typ, b, err := s.conn.Read(ctx)
	if err != nil {
		s.closed = websocket.CloseStatus(err)
		if ctx.Err() != nil {
			return ev, ctx.Err()
		}
		return ev, Err(CodeNetwork, err.Error())
	}
	if typ != websocket.MessageText {
		return ev, errors.New("event socket: binary message")
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("event socket: %w", err)
	}
	return ev, nil
}

// CloseStatus is the close code the broker gave when Next failed (4001:
// replaced by a newer socket of this laptop, 4002: the sign-in ended), or
// -1 when it gave none.
func (s *EventStream) CloseStatus() websocket.StatusCode { return s.closed }

// Close closes the socket.
func (s *EventStream) Close() error {
	return s.conn.Close(websocket.StatusNormalClosure, "")
}
