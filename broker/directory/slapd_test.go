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
	"io"
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

// slapd is the package's OpenLDAP server (one per package, as the test
// rules ask): started by the first test that needs it on free loopback
// ports, seeded with seedPeople and seedGroups, with a certificate for
// StartTLS and LDAPS and its stats log (every BIND) kept so a test can
// count what reached the directory. TestMain stops it.
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

// seedPeople and seedGroups are the directory every test of the package
// reads (each test its own people).
var (
	seedPeople = []person{
		{uid: "k1001", name: "山田 太郎", dept: "総務課", mail: "yamada@city.example", password: staffPassword},
		{uid: "k1002", name: "佐藤 花子", dept: "税務課", mail: "sato@city.example", password: "Dir-Pass-1002!"},
		{uid: "it01", name: "情報 一郎", dept: "情報政策課", mail: "it01@city.example", password: "Dir-Pass-it01!"},
		{uid: "k1003", name: "鈴木 次郎", dept: "総務課", mail: "suzuki@city.example", password: "Dir-Pass-1003!", disabled: true},
		{uid: "k1004", name: "高橋 三郎", dept: "総務課", mail: "takahashi@city.example", password: "Dir-Pass-1004!"},
		{uid: "k2001", name: "中村 優", dept: "市民課", mail: "nakamura@city.example", password: staffPassword},
	}
	seedGroups = map[string][]string{
		"zaitaku-staff":       {"k1001", "k1002", "k1003", "k2001"},
		"zaitaku-supervisors": {"k1002"},
		"zaitaku-it":          {"it01"},
		"payroll":             {"k1004"}, // a group Zaitaku does not map
	}
)

var shared struct {
	once sync.Once
	dir  string
	s    *slapd
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.s != nil {
		shared.s.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// directoryForTests returns the package's slapd, starting it the first
// time; a missing slapd fails the test with the packages to install.
func directoryForTests(t *testing.T) *slapd {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "zaitaku-slapd-"); shared.err == nil {
			shared.s, shared.err = launchSlapd(shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.s
}

func tool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(d, name); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: install the Debian packages slapd and ldap-utils (make deps)", name)
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

// launchSlapd seeds the directory with slapadd and runs slapd in dir.
func launchSlapd(dir string) (*slapd, error) {
	bin, err := tool("slapd")
	if err != nil {
		return nil, err
	}
	add, err := tool("slapadd")
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}
	certf, keyf, err := writeCert(dir)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
# Nothing but TLS: a client that sends a password in clear is refused.
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
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: city\no: Example City\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=staff,%s\nobjectClass: organizationalUnit\nou: staff\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", testSuffix)
	fmt.Fprintf(&b, "dn: cn=zaitaku-svc,%s\nobjectClass: person\ncn: zaitaku-svc\nsn: service\nuserPassword: svc-secret\n\n", testSuffix)
	for _, p := range seedPeople {
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
	for cn, members := range seedGroups {
		fmt.Fprintf(&b, "dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n", cn, testSuffix, cn)
		for _, m := range members {
			fmt.Fprintf(&b, "member: uid=%s,ou=staff,%s\n", m, testSuffix)
		}
		b.WriteString("\n")
	}
	seed := filepath.Join(dir, "seed.ldif")
	if err := os.WriteFile(seed, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.Command(add, "-f", conff, "-l", seed).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &slapd{URL: fmt.Sprintf("ldap://127.0.0.1:%d", port), LDAPS: fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort),
		CAFile: certf, Suffix: testSuffix, logf: filepath.Join(dir, "slapd.log")}
	logw, err := os.Create(s.logf)
	if err != nil {
		return nil, err
	}
	// -d 256 (stats): in the foreground, one line per operation on stderr.
	s.cmd = exec.Command(bin, "-f", conff, "-h", s.URL+"/ "+s.LDAPS+"/", "-d", "256")
	s.cmd.Stdout, s.cmd.Stderr = logw, logw
	if err := s.cmd.Start(); err != nil {
		logw.Close()
		return nil, fmt.Errorf("start slapd: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		logw.Close()
		s.mu.Lock()
		s.exited = true
		s.mu.Unlock()
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		if exited || time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(s.logf)
			return nil, fmt.Errorf("slapd did not start on %s:\n%s", s.URL, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends slapd.
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

// link is a TCP path to the directory that a test can cut, as a network
// outage would, while slapd (shared by the package) runs on.
type link struct {
	URL string // ldap://127.0.0.1:PORT
	ln  net.Listener
	mu  sync.Mutex
	cs  []net.Conn
}

// Link opens a cuttable path to slapd's StartTLS port.
func (s *slapd) Link(t *testing.T) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{URL: "ldap://" + ln.Addr().String(), ln: ln}
	target := strings.TrimPrefix(s.URL, "ldap://")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.cs = append(l.cs, c, up)
			l.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(l.Cut)
	return l
}

// Cut closes the path and every connection on it.
func (l *link) Cut() {
	l.ln.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.cs {
		c.Close()
	}
	l.cs = nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// writeCert makes a self-signed certificate for 127.0.0.1 in dir, which
// the broker is given as the directory's CA.
func writeCert(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test directory"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}
