package release

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"aead.dev/minisign"
)

// ParseKey reads a minisign public key: the "RW..." line, or the whole
// .pub file with its comment line.
func ParseKey(s string) (minisign.PublicKey, error) {
	var k minisign.PublicKey
	err := k.UnmarshalText([]byte(strings.TrimSpace(s)))
	return k, err
}

// KeyID is a key's ID as the minisign command prints it.
func KeyID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 16)) }

// SignatureKeyID returns the ID of the key that made a minisign signature.
func SignatureKeyID(sig string) (uint64, error) {
	var s minisign.Signature
	if err := s.UnmarshalText([]byte(sig)); err != nil {
		return 0, err
	}
	return s.KeyID, nil
}

// findKey returns the key of keys (minisign public key strings) that
// made sig, skipping retired ones; ok is false when none did.
func findKey(keys []string, retired map[string]bool, sig string) (minisign.PublicKey, string, bool) {
	id, err := SignatureKeyID(sig)
	if err != nil {
		return minisign.PublicKey{}, "", false
	}
	for _, s := range keys {
		k, err := ParseKey(s)
		if err != nil || k.ID() != id || retired[k.String()] {
			continue
		}
		return k, k.String(), true
	}
	return minisign.PublicKey{}, "", false
}

// verifyWith reports whether one of keys (not retired) signed body.
func verifyWith(keys []string, retired map[string]bool, body []byte, sig string) (string, bool) {
	k, name, ok := findKey(keys, retired, sig)
	if !ok || !minisign.Verify(k, body, []byte(sig)) {
		return "", false
	}
	return name, true
}

// The online key is kept as its 32-byte ed25519 seed, sealed with the
// data directory's secret key (AES-GCM), so that a copied database alone
// cannot sign manifests.

const sealLabel = "zaitaku release online key"

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: want 32 bytes, got %d", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func sealSeed(key, seed []byte) ([]byte, error) {
	a, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Seal(nonce, nonce, seed, []byte(sealLabel)), nil
}

func openSigner(key []byte, rec SignerRecord) (minisign.PrivateKey, error) {
	a, err := newAEAD(key)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	n := a.NonceSize()
	if len(rec.Sealed) < n {
		return minisign.PrivateKey{}, errors.New("release: sealed online key too short")
	}
	seed, err := a.Open(nil, rec.Sealed[:n], rec.Sealed[n:], []byte(sealLabel))
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("release: open online key (was the data directory's secret key replaced?): %w", err)
	}
	// minisign's GenerateKey is ed25519's: the same seed gives the same key.
	_, priv, err := minisign.GenerateKey(bytes.NewReader(seed))
	return priv, err
}
