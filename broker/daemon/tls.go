package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// loadOrCreateCert returns the certificate to serve, its fingerprint and
// its key pin. Without a configured one, a self-signed certificate is made
// once and kept in the data dir, so that its key (which staff laptops pin)
// stays the same across restarts.
func loadOrCreateCert(cfg Config) (cert tls.Certificate, fingerprint, pin string, err error) {
	certFile, keyFile := cfg.TLSCert, cfg.TLSKey
	if certFile == "" {
		certFile, keyFile = filepath.Join(cfg.Data, "tls-cert.pem"), filepath.Join(cfg.Data, "tls-key.pem")
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := writeSelfSigned(certFile, keyFile); err != nil {
				return tls.Certificate{}, "", "", fmt.Errorf("make self-signed certificate: %w", err)
			}
		}
	}
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", "", fmt.Errorf("load certificate %s: %w", certFile, err)
	}
	pin, err = api.CertKeyPin(cert.Certificate[0])
	if err != nil {
		return tls.Certificate{}, "", "", fmt.Errorf("certificate %s: %w", certFile, err)
	}
	return cert, api.CertFingerprint(cert.Certificate[0]), pin, nil
}

func writeSelfSigned(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Zaitaku broker", Organization: []string{"Zaitaku"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", host},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFileAtomic writes via a temporary file and rename, so a crash never
// leaves half a key.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadOrCreateSecretKey returns the 32-byte key that seals secrets at rest.
func loadOrCreateSecretKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, found %d; restore it from backup (sealed secrets depend on it)", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, writeFileAtomic(path, b, 0o600)
}

// announcePins names, on every answer, the keys laptops may pin: the
// current one and any announced with -next-key-pins. A laptop that
// reached the broker through a pin it holds adds the others
// (api.ClientOptions.OnPin), so a key rotation announced ahead of time
// does not strand laptops that were set up by hand.
func announcePins(h http.Handler, pins []string) http.Handler {
	v := strings.Join(pins, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.KeyPinsHeader, v)
		h.ServeHTTP(w, r)
	})
}
