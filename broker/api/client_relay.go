package api

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// TunnelPath is the route of a slot's tunnel (see broker/tunnel for the
// upgrade, the stream and the channel binding).
func TunnelPath(slotID string) string { return "/v1/tunnel/" + url.PathEscape(slotID) }

// DialTunnel opens one tunnel connection for the caller's granted slot:
// a TLS connection of its own to the broker (never shared with API calls,
// so bulk bytes never delay them), upgraded to a raw byte stream that the
// broker connects to the office PC paired with the slot. The request is
// bound to its TLS connection by the device key (SetSigner). Errors are
// *Error: CodeNetwork when the broker cannot be reached, the broker's code
// when it refuses (slot not granted or not the caller's, office PC not
// answering, CodeTunnelBinding when something between app and broker
// holds the TLS connection, ...), CodeCertificateChange when no pin
// matches.
func (c *Client) DialTunnel(ctx context.Context, slotID string) (net.Conn, error) {
	var conn net.Conn
	err := c.withToken(true, func(tok string) (err error) {
		conn, err = c.dialTunnel(ctx, slotID, tok)
		return err
	})
	return conn, err
}

// SetSigner sets how tunnel requests are signed with the device key (the
// app's core keeps the key). Without one, the broker refuses tunnels.
func (c *Client) SetSigner(sign func(msg []byte) []byte) {
	c.mu.Lock()
	c.sign = sign
	c.mu.Unlock()
}

func (c *Client) signer() func([]byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sign
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
	tunnel.TuneSocket(raw)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+TunnelPath(slotID), nil)
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	var rw net.Conn = raw
	if c.base.Scheme == "https" {
		cfg := c.TLSConfig()
		// HTTP/2 cannot hand over its connection: ask for HTTP/1.1 only.
		cfg.NextProtos = []string{"http/1.1"}
		if cfg.ServerName == "" {
			cfg.ServerName = c.base.Hostname()
		}
		cfg.DynamicRecordSizingDisabled = true // bulk from the first byte
		tc := tls.Client(tunnel.ClientConn(raw), cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("tunnel handshake: %w", err)
		}
		if sign := c.signer(); sign != nil {
			cs := tc.ConnectionState()
			b, err := tunnel.Bind(&cs, slotID, sign)
			if err != nil {
				return nil, err
			}
			req.Header.Set(tunnel.BindingHeader, b)
		}
		rw = tc
	}
	conn, resp, err := tunnel.Upgrade(rw, req)
	if err != nil {
		return nil, err
	}
	if resp != nil {
		defer resp.Body.Close()
		return nil, DecodeError(resp)
	}
	return conn, nil
}
