package daemon_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestE2EBrokerTLSProfile asks openssl, not Go, what the broker accepts:
// the national guideline's high-security profile is TLS 1.3, or TLS 1.2
// with AEAD suites only. openssl's own floor is lowered (SECLEVEL=0) so
// that a refusal can only come from the broker.
func TestE2EBrokerTLSProfile(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not found: apt-get install openssl")
	}
	b := brokertest.Start(t)
	addr := strings.TrimPrefix(b.URL, "https://")
	for _, tc := range []struct {
		name   string
		args   []string
		accept bool
	}{
		{"TLS 1.3", []string{"-tls1_3"}, true},
		{"TLS 1.2 AEAD (ECDHE-ECDSA-AES128-GCM-SHA256)", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, true},
		{"TLS 1.2 AEAD (ECDHE-ECDSA-CHACHA20-POLY1305)", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, true},
		{"TLS 1.2 CBC (ECDHE-ECDSA-AES128-SHA)", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA@SECLEVEL=0"}, false},
		{"TLS 1.2 CBC (ECDHE-ECDSA-AES128-SHA256)", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256@SECLEVEL=0"}, false},
		{"TLS 1.1", []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, false},
		{"TLS 1.0", []string{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			args := append([]string{"s_client", "-connect", addr, "-servername", "localhost", "-brief"}, tc.args...)
			cmd := exec.CommandContext(ctx, "openssl", args...)
			cmd.Stdin = strings.NewReader("") // end at once after the handshake
			out, err := cmd.CombinedOutput()
			accepted := err == nil && strings.Contains(string(out), "CONNECTION ESTABLISHED")
			if accepted != tc.accept {
				t.Fatalf("openssl %s: accepted=%v, want %v (%v)\n%s", strings.Join(tc.args, " "), accepted, tc.accept, err, out)
			}
			t.Logf("openssl %s: accepted=%v: %s", strings.Join(tc.args, " "), accepted, firstLines(string(out), 3))
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}
