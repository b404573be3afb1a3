package tunnel

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Upgrade sends the tunnel request req on c (a *tls.Conn made over
// ClientConn, or a plain connection in development) and reads the answer.
// On 101 it returns the tunnel's Conn. On any other status it returns the
// response, whose body the caller reads for the broker's error, and a nil
// Conn. The caller bounds it with a deadline on c.
func Upgrade(c net.Conn, req *http.Request) (*Conn, *http.Response, error) {
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Protocol)
	if err := req.Write(c); err != nil {
		return nil, nil, fmt.Errorf("tunnel request: %w", err)
	}
	br := bufio.NewReaderSize(c, 4<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, fmt.Errorf("tunnel answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp, nil
	}
	if p := resp.Header.Get("Upgrade"); !strings.EqualFold(p, Protocol) {
		return nil, nil, fmt.Errorf("tunnel answer: the broker switched to %q", p)
	}
	// The office PC may speak first: keep what was read past the answer.
	prefix, _ := br.Peek(br.Buffered())
	return newConn(c, append([]byte(nil), prefix...)), nil, nil
}

// IsUpgrade reports whether req asks for the tunnel: HTTP/1.1 with
// Connection: Upgrade and Upgrade: Protocol.
func IsUpgrade(req *http.Request) bool {
	return req.ProtoMajor == 1 && req.ProtoMinor >= 1 && headerHasToken(req.Header, "Connection", "upgrade") &&
		headerHasToken(req.Header, "Upgrade", Protocol)
}

// Hijack takes over the connection of a tunnel request, before the
// answer: the caller writes it with SwitchProtocols once it has set the
// tunnel up (or closes the Conn to refuse).
func Hijack(w http.ResponseWriter) (*Conn, error) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("tunnel hijack: %w", err)
	}
	var prefix []byte
	if n := brw.Reader.Buffered(); n > 0 {
		// The app waits for the 101 before it sends a byte, but the
		// protocol does not depend on it.
		prefix, _ = brw.Reader.Peek(n)
		prefix = append([]byte(nil), prefix...)
	}
	_ = c.SetDeadline(time.Time{}) // the server's read and write timeouts end here
	return newConn(c, prefix), nil
}

// SwitchProtocols writes the 101 answer: from here on, c carries the
// tunnel's bytes.
func (c *Conn) SwitchProtocols() error {
	if _, err := c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + Protocol + "\r\n\r\n")); err != nil {
		return fmt.Errorf("tunnel answer: %w", err)
	}
	return nil
}

// headerHasToken reports whether a comma-separated header lists token.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
