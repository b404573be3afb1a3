package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id's costs.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// ProductionArgon2 is the cost used outside tests.
//
// Why these numbers: 64 MiB with one pass and one lane is above OWASP's
// argon2id recommendation (46 MiB, t=1, p=1), so a stolen database costs
// an attacker 64 MiB of memory per guess. One lane per hash, and at most
// one hash per core at a time (Service.gate), keeps a core busy per
// login without oversubscribing: measured here (make bench), two cores
// take the 9 a.m. burst of 3,000 staff in five minutes (10/s) with room
// to spare, and memory stays bounded by cores × 64 MiB. Two passes with
// two lanes cost twice as much and queued logins to a p99 over a second.
var ProductionArgon2 = Argon2Params{MemoryKiB: 64 * 1024, Time: 1, Threads: 1}

// TestArgon2 is cheap; only brokertest uses it.
var TestArgon2 = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

const saltLen, keyLen = 16, 32

// HashPassword returns a PHC-format argon2id hash, so parameters can be
// raised later and old hashes still verify (and get rehashed at login).
func HashPassword(pw string, p Argon2Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// VerifyPassword checks pw against a PHC hash in constant time and reports
// whether the hash's parameters differ from want (so the caller rehashes).
func VerifyPassword(pw, hash string, want Argon2Params) (ok, stale bool, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, false, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, false, errBadHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false, false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, p != want, nil
}

// TemporaryPassword makes a random password that satisfies the default
// policy: shown once to IT, changed at first login. A draw the policy
// refuses (a run like "abcd", a word) is simply drawn again.
func TemporaryPassword() string {
	const letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	for {
		b := make([]byte, 14)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		out := make([]byte, 0, 18)
		for i, c := range b {
			out = append(out, letters[int(c)%len(letters)])
			if i == 4 || i == 9 {
				out = append(out, '-')
			}
		}
		pw := string(out) + "-a7Q" // every class, whatever the draw
		if CheckPassword(pw, "", DefaultPolicy) == nil {
			return pw
		}
	}
}
