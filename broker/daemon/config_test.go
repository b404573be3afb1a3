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

// TestRateLimitsConfig: the flags' syntax, and that a bad value stops the
// broker from starting with a message that names the flag.
func TestRateLimitsConfig(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{args: nil},
		{args: []string{"-login-rate", "20/1m", "-refresh-rate", "300/1m"}},
		{args: []string{"-login-rate", "off", "-refresh-rate", "0"}},
		{args: []string{"-login-rate", "5/30s", "-trusted-proxies", "10.0.0.1, 192.0.2.0/24, ::1"}},
		{args: []string{"-login-rate", "5"}, wantErr: "-login-rate"},
		{args: []string{"-refresh-rate", "x/1m"}, wantErr: "-refresh-rate"},
		{args: []string{"-login-rate", "5/0s"}, wantErr: "-login-rate"},
		{args: []string{"-trusted-proxies", "proxy.example"}, wantErr: "-trusted-proxies"},
	} {
		_, err := ParseServe(tc.args, func(string) string { return "" }, io.Discard)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one naming %s", tc.args, err, tc.wantErr)
		}
	}
}

func TestRateLimitsDefaultOn(t *testing.T) {
	l, err := DefaultConfig().RateLimits()
	if err != nil || l.Login.Off() || l.Refresh.Off() {
		t.Fatalf("default limits: %+v %v; a broker without -login-rate must limit sign-ins", l, err)
	}
	cfg, err := ParseServe(nil, func(k string) string {
		return map[string]string{"ZAITAKU_LOGIN_RATE": "off", "ZAITAKU_TRUSTED_PROXIES": "10.0.0.1"}[k]
	}, io.Discard)
	if err != nil || cfg.LoginRate != "off" || cfg.TrustedProxies != "10.0.0.1" {
		t.Fatalf("from the environment: %+v %v", cfg, err)
	}
}
