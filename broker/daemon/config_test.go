package daemon

import (
	"io"
	"strings"
	"testing"
)

// TestUnboundTunnelsOnlyBehindAProxy: running tunnels without channel
// binding is IT's explicit choice, and only where the broker has no TLS of
// its own to bind them to.
func TestUnboundTunnelsOnlyBehindAProxy(t *testing.T) {
	env := func(string) string { return "" }
	if _, err := ParseServe([]string{"-unbound-tunnels"}, env, io.Discard); err == nil || !strings.Contains(err.Error(), "-insecure-http") {
		t.Fatalf("-unbound-tunnels over the broker's own TLS: %v, want a refusal", err)
	}
	cfg, err := ParseServe([]string{"-insecure-http", "-unbound-tunnels"}, env, io.Discard)
	if err != nil || !cfg.Insecure || !cfg.UnboundTunnels {
		t.Fatalf("behind a proxy: %+v, %v", cfg, err)
	}
	cfg, err = ParseServe([]string{"-insecure-http"}, func(k string) string {
		if k == "ZAITAKU_UNBOUND_TUNNELS" {
			return "1"
		}
		return ""
	}, io.Discard)
	if err != nil || !cfg.UnboundTunnels {
		t.Fatalf("from the environment: %+v, %v", cfg, err)
	}
	if cfg, err := ParseServe([]string{"-insecure-http"}, env, io.Discard); err != nil || cfg.UnboundTunnels {
		t.Fatalf("the default is bound: %+v, %v", cfg, err)
	}
}

func TestNextKeyPinsAreChecked(t *testing.T) {
	env := func(string) string { return "" }
	pin := "sha256/OjR/ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8w="
	if cfg, err := ParseServe([]string{"-next-key-pins", pin + ", " + pin}, env, io.Discard); err != nil || len(splitList(cfg.NextKeyPins)) != 2 {
		t.Fatalf("good pins: %+v, %v", cfg, err)
	}
	if _, err := ParseServe([]string{"-next-key-pins", "AB:CD:EF"}, env, io.Discard); err == nil {
		t.Fatal("a certificate fingerprint is not a key pin")
	}
}
