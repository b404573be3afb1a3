// Package tunnel is the RDP tunnel's transport: the HTTP/1.1 upgrade that
// turns a TLS connection to the broker into a raw byte stream, the splice
// that relays it, the socket tuning that makes it fast, the channel binding
// that ties each tunnel to its TLS connection, and the TLS profile. It
// uses the standard library only (a test checks), so that what auditors
// read is crypto/tls and nothing home-made.
//
// One RDP connection is one TLS connection of its own:
//
//	GET /v1/tunnel/{slot}
//	Connection: Upgrade
//	Upgrade: zaitaku-tunnel/1
//	Authorization: Bearer ...
//	Zaitaku-Tunnel-Binding: base64(ed25519 signature by the device key)
//
// answered by 101, after which the TLS connection carries the bytes both
// ways (no framing: WebSocket framing cost twice the CPU per byte). The
// broker chooses the target, the office PC paired with the slot; the
// request names none.
//
// What makes standard TLS fast enough here (≥ 1× ssh -L on one bulk
// stream, and RDP sessions are at most a few Mbit/s): copy buffers that
// grow to 1 MiB (our own loop, so io.Copy cannot fall back to 32 KiB),
// reads that drain every record already received, writes corked so that a
// large write leaves as one syscall rather than one per 16 KiB record,
// and 4 MiB socket buffers.
package tunnel

import (
	"crypto/tls"
)

// Protocol is the Upgrade token. Version 1 is the bytes as they are inside
// the TLS connection; it is also what a broker behind a TLS-terminating
// proxy carries.
const Protocol = "zaitaku-tunnel/1"

const (
	// SocketBuffer is the kernel send/receive buffer for tunnel sockets:
	// large enough for a full-screen RDP burst on a long fat path.
	SocketBuffer = 4 << 20
	// CopyBufferMax is the copy buffer of a busy direction; a direction
	// starts at copyBufMin and grows when a read fills its buffer, so
	// hundreds of quiet tunnels do not each pin a megabyte.
	CopyBufferMax = 1 << 20
	copyBufMin    = 32 << 10
	// maxRecord is the largest TLS plaintext record.
	maxRecord = 16 << 10
)

// The TLS profile follows the high-security profile of the national TLS
// guideline (CRYPTREC "TLS暗号設定ガイドライン", 高セキュリティ型): TLS 1.3,
// or TLS 1.2 with ECDHE and AEAD suites only. Go ignores CipherSuites for
// TLS 1.3, whose suites are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ApplyProfile sets cfg's protocol versions and suites to the profile
// and returns cfg. Both the broker's listener and the app's connections
// use it.
func ApplyProfile(cfg *tls.Config) *tls.Config {
	cfg.MinVersion = tls.VersionTLS12
	cfg.MaxVersion = 0 // the newest Go knows: TLS 1.3
	cfg.CipherSuites = append([]uint16(nil), cipherSuites...)
	return cfg
}

// CipherSuites returns the TLS 1.2 suites of the profile.
func CipherSuites() []uint16 { return append([]uint16(nil), cipherSuites...) }

// ProtocolName describes a TLS connection for the audit log, e.g.
// "TLS 1.3 TLS_AES_128_GCM_SHA256"; "plain" when there is none.
func ProtocolName(cs *tls.ConnectionState) string {
	if cs == nil {
		return "plain"
	}
	return tls.VersionName(cs.Version) + " " + tls.CipherSuiteName(cs.CipherSuite)
}
