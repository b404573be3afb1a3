package daemon_test

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestE2EBrokerStartsOnEmptyDir runs the real binary on an empty data
// directory: it prints its address, a fingerprint and a key pin that
// openssl agrees with, answers /healthz, and exits cleanly on SIGTERM.
func TestE2EBrokerStartsOnEmptyDir(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not found: apt-get install openssl")
	}
	p := brokertest.StartProcess(t, nil)
	if !strings.HasPrefix(p.URL, "https://127.0.0.1:") || p.Fingerprint == "" {
		t.Fatalf("printed URL %q fingerprint %q", p.URL, p.Fingerprint)
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(p.URL, "https://"), &tls.Config{InsecureSkipVerify: true}) // reading the cert to compare
	if err != nil {
		t.Fatal(err)
	}
	der := conn.ConnectionState().PeerCertificates[0].Raw
	conn.Close()
	pemFile := filepath.Join(t.TempDir(), "served.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pemFile).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out[strings.Index(string(out), "=")+1:]))
	if got != p.Fingerprint {
		t.Fatalf("openssl says %s, broker printed %s", got, p.Fingerprint)
	}
	// The key pin, computed as the README tells IT to.
	out, err = exec.Command("bash", "-c", "openssl x509 -in "+pemFile+" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256/" + strings.TrimSpace(string(out)); p.Pin != want {
		t.Fatalf("openssl computes key pin %s, broker printed %q", want, p.Pin)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // fingerprint checked above
	resp, err := c.Get(p.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Status string }
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h.Status != "ok" {
		t.Fatalf("healthz: %d %+v", resp.StatusCode, h)
	}
	if got := resp.Header.Get("Zaitaku-Key-Pins"); got != p.Pin {
		t.Fatalf("announced key pins %q, want the current one, %s", got, p.Pin)
	}
	for _, f := range []string{"zaitaku.db", "tls-cert.pem", "tls-key.pem", "secret.key"} {
		st, err := os.Stat(filepath.Join(p.DataDir, f))
		if err != nil {
			t.Fatalf("data dir lacks %s: %v", f, err)
		}
		if strings.HasSuffix(f, "key") || strings.HasSuffix(f, "key.pem") {
			if st.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s is readable by others: %v", f, st.Mode())
			}
		}
	}
	if err := p.Terminate(); err != nil {
		t.Fatalf("graceful shutdown: %v\n%s", err, p.Log.String())
	}
	// A restart keeps the certificate (laptops pin its fingerprint).
	fp := p.Fingerprint
	p.Restart()
	if p.Fingerprint != fp {
		t.Fatalf("fingerprint changed across restart: %s → %s", fp, p.Fingerprint)
	}
}
