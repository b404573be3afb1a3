package ui

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// This file holds the network side of first run; no text here reaches the
// screen.

// checkTimeout bounds a certificate check so a dead address answers quickly.
const checkTimeout = 10 * time.Second

// CertCheck is what the first-run screen learns about the broker's certificate.
type CertCheck struct {
	Pin         string // the key pin (api.KeyPin), what the laptop keeps
	Fingerprint string // SHA-256 of the certificate, AB:CD:... (the earlier pin form)
	Trusted     bool   // a CA the OS trusts vouches for it
}

// CheckCertificate connects to the broker twice: once verifying against the
// OS trust store, once only to read the certificate's key pin.
func CheckCertificate(ctx context.Context, brokerURL string) (CertCheck, error) {
	bc, err := api.FetchCertificate(ctx, brokerURL)
	if err != nil {
		return CertCheck{}, err
	}
	u, _ := url.Parse(brokerURL) // FetchCertificate parsed it already
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: &tls.Config{ServerName: u.Hostname()}}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err == nil {
		conn.Close()
	}
	return CertCheck{Pin: bc.Pin, Fingerprint: bc.Fingerprint, Trusted: err == nil}, nil
}

var (
	errNoAddress  = errors.New("no broker address")
	errBadAddress = errors.New("broker address must be https://host[:port]")
)

// normalizeBrokerURL accepts what staff type ("broker.example:8443",
// "https://broker.example:8443/") and returns https://host[:port]. Only https
// is accepted: the broker never serves plain HTTP.
func normalizeBrokerURL(s string) (string, error) {
	a := strings.TrimRight(strings.TrimSpace(s), "/")
	if a == "" {
		return "", errNoAddress
	}
	if !strings.Contains(a, "://") {
		a = "https://" + a
	}
	u, err := url.Parse(a)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", errBadAddress
	}
	return "https://" + u.Host, nil
}
