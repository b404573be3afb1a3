package directory_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// slapd is an OpenLDAP server the test starts itself on a free loopback
// port, with a certificate for StartTLS and its stats log (every BIND)
// kept so a test can count what reached the directory.
type slapd struct {
	URL    string // ldap://127.0.0.1:PORT (StartTLS required by the server)
	LDAPS  string // ldaps://127.0.0.1:PORT
	CAFile string
	Suffix string
	cmd    *exec.Cmd
	logf   string
	mu     sync.Mutex
	exited bool
}

const testSuffix = "dc=city,dc=example"

// person is a seeded directory entry.
type person struct {
	uid, name, dept, mail, password string
	disabled                        bool
}

func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s not found: install the Debian packages slapd and ldap-utils (make deps)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// ldif writes one attribute, base64 when it is not plain ASCII (LDIF's rule).
func ldif(b *strings.Builder, attr, v string) {
	plain := utf8.ValidString(v) && !strings.HasPrefix(v, " ") && !strings.HasPrefix(v, ":") && !strings.HasPrefix(v, "<")
	for _, r := range v {
		if r > 126 || r < 32 {
			plain = false
		}
	}
	if plain {
		fmt.Fprintf(b, "%s: %s\n", attr, v)
	} else {
		fmt.Fprintf(b, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(v)))
	}
}

// startSlapd seeds people and groups (group cn → member uids) with
// slapadd and runs slapd until the test ends.
func startSlapd(t *testing.T, people []person, groups map[string][]string) *slapd {
	t.Helper()
	bin, add := tool(t, "slapd"), tool(t, "slapadd")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	certf, keyf := writeCert(t, dir)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
# Nothing but StartTLS: a client that sends a password in clear is refused.
security tls=1
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="cn=zaitaku-svc,%[4]s" read
  by self read
  by * none
database mdb
maxsize 16777216
suffix "%[4]s"
rootdn "cn=admin,%[4]s"
rootpw not-used-by-the-test
directory %[1]s/db
`, dir, certf, keyf, testSuffix)
	conff := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conff, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: city\no: Example City\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=staff,%s\nobjectClass: organizationalUnit\nou: staff\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: cn=zaitaku-svc,%s\nobjectClass: person\ncn: zaitaku-svc\nsn: service\nuserPassword: svc-secret\n\n", testSuffix)
	for _, p := range people {
		fmt.Fprintf(&b, "dn: uid=%s,ou=staff,%s\nobjectClass: inetOrgPerson\nuid: %s\n", p.uid, testSuffix, p.uid)
		ldif(&b, "cn", p.name)
		ldif(&b, "sn", strings.Fields(p.name)[0])
		ldif(&b, "displayName", p.name)
		ldif(&b, "departmentNumber", p.dept)
		ldif(&b, "mail", p.mail)
		ldif(&b, "userPassword", p.password)
		if p.disabled {
			b.WriteString("employeeType: disabled\n")
		}
		b.WriteString("\n")
	}
	for cn, members := range groups {
		fmt.Fprintf(&b, "dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n", cn, testSuffix, cn)
		for _, m := range members {
			fmt.Fprintf(&b, "member: uid=%s,ou=staff,%s\n", m, testSuffix)
		}
		b.WriteString("\n")
	}
	seed := filepath.Join(dir, "seed.ldif")
	if err := os.WriteFile(seed, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(add, "-f", conff, "-l", seed).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	port := freePort(t)
	s := &slapd{URL: fmt.Sprintf("ldap://127.0.0.1:%d", port), LDAPS: fmt.Sprintf("ldaps://127.0.0.1:%d", freePort(t)),
		CAFile: certf, Suffix: testSuffix, logf: filepath.Join(dir, "slapd.log")}
	logw, err := os.Create(s.logf)
	if err != nil {
		t.Fatal(err)
	}
	// -d 256 (stats): in the foreground, one line per operation on stderr.
	s.cmd = exec.Command(bin, "-f", conff, "-h", s.URL+"/ "+s.LDAPS+"/", "-d", "256")
	s.cmd.Stdout, s.cmd.Stderr = logw, logw
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		logw.Close()
		s.mu.Lock()
		s.exited = true
		s.mu.Unlock()
	}()
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		if exited || time.Now().After(deadline) {
			log, _ := os.ReadFile(s.logf)
			t.Fatalf("slapd did not start on %s:\n%s", s.URL, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Stop ends slapd (a test of the directory being down calls it early).
func (s *slapd) Stop() {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if !exited && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	for i := 0; i < 100; i++ {
		s.mu.Lock()
		exited = s.exited
		s.mu.Unlock()
		if exited {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Binds counts the BIND operations slapd has logged for dn.
func (s *slapd) Binds(t *testing.T, dn string) int {
	t.Helper()
	b, err := os.ReadFile(s.logf)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m) BIND dn="` + regexp.QuoteMeta(dn) + `" method=128$`)
	return len(re.FindAll(b, -1))
}

// WaitBinds waits until slapd has logged want binds of dn (its log is
// written as it goes), failing if it logs more or never gets there.
func (s *slapd) WaitBinds(t *testing.T, dn string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := s.Binds(t, dn)
		if n > want {
			t.Fatalf("the directory saw %d binds of %s, want %d", n, dn, want)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the directory saw %d binds of %s, want %d", n, dn, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeCert makes a self-signed certificate for 127.0.0.1, which the
// broker is given as the directory's CA.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test directory"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
