package update

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"aead.dev/minisign"

	"github.com/zaitaku/zaitaku/broker/api"
)

func parseKey(s string) (minisign.PublicKey, error) {
	var k minisign.PublicKey
	err := k.UnmarshalText([]byte(strings.TrimSpace(s)))
	return k, err
}

func keyID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 16)) }

// trusted is the key list in force and every key retired so far.
type trusted struct {
	list    api.KeyList
	retired map[string]bool // by public key
	ids     map[uint64]bool // the retired keys' IDs, to name a refusal
}

func (u *Updater) trusted(s state) (trusted, error) {
	t := trusted{list: api.KeyList{Roots: u.cfg.Roots}, retired: map[string]bool{}, ids: map[uint64]bool{}}
	for _, r := range s.Retired {
		t.retire(r)
	}
	if s.Keys != nil {
		if err := json.Unmarshal(s.Keys.Body, &t.list); err != nil {
			return t, err
		}
	}
	return t, nil
}

func (t *trusted) retire(s string) {
	if k, err := parseKey(s); err == nil {
		t.retired[k.String()] = true
		t.ids[k.ID()] = true
	}
}

// signer finds the key of keys, not retired, that made sig. The refusal
// says whether the signer was retired or unknown.
func (t trusted) signer(keys []string, sig string) (minisign.PublicKey, *Refused) {
	var s minisign.Signature
	if err := s.UnmarshalText([]byte(sig)); err != nil {
		return minisign.PublicKey{}, &Refused{ReasonSignature, "not a minisign signature"}
	}
	if t.ids[s.KeyID] {
		return minisign.PublicKey{}, &Refused{ReasonRetired, "signed by retired key " + keyID(s.KeyID)}
	}
	for _, ks := range keys {
		k, err := parseKey(ks)
		if err == nil && k.ID() == s.KeyID && !t.retired[k.String()] {
			return k, nil
		}
	}
	return minisign.PublicKey{}, &Refused{ReasonUntrusted, "signed by key " + keyID(s.KeyID) + ", which the key list does not name"}
}

// verify checks sig over body with one of keys that is not retired.
func (t trusted) verify(keys []string, body []byte, sig string) (string, *Refused) {
	k, r := t.signer(keys, sig)
	if r != nil {
		return "", r
	}
	if !minisign.Verify(k, body, []byte(sig)) {
		return "", &Refused{ReasonSignature, "the signature of key " + keyID(k.ID()) + " does not verify"}
	}
	return k.String(), nil
}

// refreshKeys walks the chain of key lists after the one held. List n+1
// is accepted only if it carries serial n+1, is signed by a root key of
// list n (list 1: by a root built into the app) that is not retired, and
// names no retired key. Each accepted list is saved at once, so a chain
// broken halfway keeps the lists before the break.
func (u *Updater) refreshKeys(ctx context.Context, s *state) (trusted, error) {
	t, err := u.trusted(*s)
	if err != nil {
		return t, err
	}
	chain, err := u.cfg.Source.ReleaseKeys(ctx, t.list.Serial)
	if err != nil {
		return t, err
	}
	for _, doc := range chain.Lists {
		var kl api.KeyList
		if err := json.Unmarshal(doc.Body, &kl); err != nil {
			return t, u.refuse(ReasonKeyChain, "not a key list")
		}
		if kl.Serial != t.list.Serial+1 {
			return t, u.refuse(ReasonKeyChain, fmt.Sprintf("key list %d after %d", kl.Serial, t.list.Serial))
		}
		if _, r := t.verify(t.list.Roots, doc.Body, doc.Signature); r != nil {
			return t, u.refuse(r.Reason, fmt.Sprintf("key list %d: %s", kl.Serial, r.Detail))
		}
		next := t
		next.retired, next.ids = map[string]bool{}, map[uint64]bool{}
		for k := range t.retired {
			next.retire(k)
		}
		for _, r := range kl.Retired {
			next.retire(r)
		}
		for _, group := range [][]string{kl.Roots, kl.Release, kl.Online} {
			for _, ks := range group {
				k, err := parseKey(ks)
				if err != nil {
					return t, u.refuse(ReasonKeyChain, fmt.Sprintf("key list %d: bad key", kl.Serial))
				}
				if next.retired[k.String()] {
					return t, u.refuse(ReasonRetired, fmt.Sprintf("key list %d names retired key %s", kl.Serial, keyID(k.ID())))
				}
			}
		}
		next.list = kl
		t = next
		d := doc
		s.Keys = &d
		s.Retired = s.Retired[:0:0]
		for k := range t.retired {
			s.Retired = append(s.Retired, k)
		}
		if err := u.saveState(*s); err != nil {
			return t, err
		}
		u.record("update.keys", "serial", strconv.Itoa(kl.Serial), "retired", strconv.Itoa(len(kl.Retired)))
	}
	if t.list.Serial == 0 {
		return t, u.refuse(ReasonNoKeys, "the broker has published no key list")
	}
	return t, nil
}
