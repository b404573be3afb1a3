package tunnel

import (
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
)

// Channel binding: each tunnel request carries, in BindingHeader, the
// app's device-key signature over BindingMessage, which holds the TLS
// connection's exporter value (tls-exporter, RFC 9266). The broker
// computes its own exporter for the connection the request arrived on and
// checks the signature with the device key of the caller's session. A
// TLS-intercepting proxy, even one whose CA the laptop trusts, holds two
// TLS connections with two different exporters, and cannot sign for the
// device: with a stolen bearer token it can neither open a tunnel nor
// ride one the app opens.
const (
	BindingHeader = "Zaitaku-Tunnel-Binding"
	// ExporterLabel and an empty context, 32 bytes, as RFC 9266 defines.
	ExporterLabel  = "EXPORTER-Channel-Binding"
	exporterLength = 32
	bindingPrefix  = "zaitaku-tunnel-binding-v1\n"
)

// Errors of VerifyBinding.
var (
	ErrNoBinding  = errors.New("tunnel request carries no channel binding")
	ErrNoExporter = errors.New("no TLS session to bind to")
	ErrBinding    = errors.New("channel binding does not match this TLS connection")
)

// Exporter returns the connection's tls-exporter value. TLS 1.2 offers it
// only with the extended master secret, which Go negotiates by default.
func Exporter(cs *tls.ConnectionState) ([]byte, error) {
	if cs == nil {
		return nil, ErrNoExporter
	}
	ekm, err := cs.ExportKeyingMaterial(ExporterLabel, []byte{}, exporterLength)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoExporter, err)
	}
	return ekm, nil
}

// BindingMessage is what the device key signs: a label (so the signature
// is good for nothing else, such as a refresh proof), the slot, and the
// exporter value.
func BindingMessage(slotID string, exporter []byte) []byte {
	m := make([]byte, 0, len(bindingPrefix)+len(slotID)+1+len(exporter))
	m = append(m, bindingPrefix...)
	m = append(m, slotID...)
	m = append(m, '\n')
	return append(m, exporter...)
}

// Bind returns the BindingHeader value for a tunnel request of slotID on
// the connection cs describes; sign signs with the device key.
func Bind(cs *tls.ConnectionState, slotID string, sign func(msg []byte) []byte) (string, error) {
	ekm, err := Exporter(cs)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sign(BindingMessage(slotID, ekm))), nil
}

// VerifyBinding checks a BindingHeader value against the broker's own
// exporter for the connection the request arrived on (cs, nil without
// TLS) and the device key of the caller's session. Errors wrap
// ErrNoBinding, ErrNoExporter or ErrBinding.
func VerifyBinding(cs *tls.ConnectionState, slotID, header string, key ed25519.PublicKey) error {
	if header == "" {
		return ErrNoBinding
	}
	ekm, err := Exporter(cs)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(header)
	if err != nil || len(sig) != ed25519.SignatureSize || len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: malformed", ErrBinding)
	}
	if !ed25519.Verify(key, BindingMessage(slotID, ekm), sig) {
		return ErrBinding
	}
	return nil
}
