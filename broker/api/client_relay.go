package api

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// DialTunnel opens one tunnel connection for the caller's granted slot:
// a TLS connection of its own to the broker (never shared with API calls,
// so bulk bytes never delay them), upgraded to a raw byte stream that the
// broker connects to the office PC paired with the slot. Errors are
// *Error: CodeNetwork when the broker cannot be reached, the broker's code
// when it refuses (slot not granted or not the caller's, office PC not
// answering, ...), CodeCertificateChange when the pin does not match.
func (c *Client) DialTunnel(ctx context.Context, slotID string) (net.Conn, error) {
	var conn net.Conn
	err := c.withToken(true, func(tok string) (err error) {
		conn, err = c.dialTunnel(ctx, slotID, tok)
		return err
	})
	return conn, err
}

func (c *Client) dialTunnel(ctx context.Context, slotID, tok string) (net.Conn, error) {
	host := c.base.Host
	if c.base.Port() == "" {
		port := "443"
		if c.base.Scheme == "http" {
			port = "80"
		}
		host = net.JoinHostPort(c.base.Hostname(), port)
	}
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, Err(CodeNetwork, err.Error())
	}
	TuneSocket(raw)
	// Until the upgrade is answered, ctx bounds every read and write.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	conn, err := c.upgradeTunnel(ctx, raw, slotID, tok)
	if !stop() || ctx.Err() != nil {
		raw.Close()
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		raw.Close()
		if e := AsError(err); e != nil {
			return nil, e
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, Err(CodeNetwork, err.Error())
	}
	_ = raw.SetDeadline(time.Time{})
	return conn, nil
}

func (c *Client) upgradeTunnel(ctx context.Context, raw net.Conn, slotID, tok string) (net.Conn, error) {
	var rw net.Conn = raw
	var tc *tls.Conn
	if c.base.Scheme == "https" {
		cfg := c.TLSConfig()
		// HTTP/2 cannot hand over its connection: ask for HTTP/1.1 only.
		cfg.NextProtos = []string{"http/1.1"}
		if cfg.ServerName == "" {
			cfg.ServerName = c.base.Hostname()
		}
		cfg.MinVersion = tls.VersionTLS13 // the records' keys come from its exporter
		tc = tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("tunnel handshake: %w", err)
		}
		rw = tc
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+TunnelPath(slotID), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", TunnelProtocol+", "+TunnelProtocolBytes)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if err := req.Write(rw); err != nil {
		return nil, fmt.Errorf("tunnel request: %w", err)
	}
	br := bufio.NewReaderSize(rw, 4<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("tunnel answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		return nil, DecodeError(resp)
	}
	switch proto := resp.Header.Get("Upgrade"); {
	case strings.EqualFold(proto, TunnelProtocol) && tc != nil:
		// The broker sends nothing more through TLS: from here on the
		// connection carries records (tunnel_records.go).
		if br.Buffered() > 0 {
			return nil, errors.New("tunnel answer: the broker sent data before the tunnel started")
		}
		up, down, err := recordKeys(tc.ConnectionState(), slotID)
		if err != nil {
			return nil, err
		}
		return newRecordConn(raw, nil, down, up, false)
	case strings.EqualFold(proto, TunnelProtocolBytes):
		// The office PC may speak first: keep what was read past the answer.
		prefix, _ := br.Peek(br.Buffered())
		prefix = append([]byte(nil), prefix...)
		return &prefixConn{Conn: rw, prefix: prefix}, nil
	default:
		return nil, fmt.Errorf("tunnel answer: the broker switched to %q", proto)
	}
}

// prefixConn is the stream of a broker without TLS of its own (behind a
// TLS-terminating proxy, or plain HTTP in development), with bytes already
// read ahead.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes, so the office PC sees the end of the stream.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
