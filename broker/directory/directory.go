// Package directory signs staff in against the city's directory (LDAP or
// Active Directory): it implements auth.Directory with a search as a
// service account, then a bind as the person, over LDAPS or StartTLS.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// Config is the "ldap" object of the broker's config file.
type Config struct {
	// URL is ldaps://host[:636], or ldap://host[:389] with StartTLS.
	URL      string `json:"url"`
	StartTLS bool   `json:"start_tls"`
	// CAFile is the PEM certificate(s) the directory's certificate must
	// chain to; empty: the system's roots. ServerName overrides the name
	// checked in it (default: the URL's host).
	CAFile     string `json:"ca_file"`
	ServerName string `json:"server_name"`
	// InsecurePlainForTests allows ldap:// without StartTLS: passwords
	// then cross the network in clear. Only for a test directory on
	// loopback.
	InsecurePlainForTests bool `json:"insecure_plain_for_tests"`

	// The service account that searches (read-only). Its password comes
	// from BindPasswordFile or ZAITAKU_LDAP_BIND_PASSWORD, never the
	// config file itself.
	BindDN           string `json:"bind_dn"`
	BindPasswordFile string `json:"bind_password_file"`
	BindPassword     string `json:"-"`

	// BaseDN is where staff entries are searched (subtree); UserFilter
	// finds one by staff ID, {id} standing for it (escaped):
	// "(uid={id})" for OpenLDAP, "(sAMAccountName={id})" for AD.
	BaseDN     string `json:"base_dn"`
	UserFilter string `json:"user_filter"`
	// Attributes read from the entry (defaults: displayName then cn,
	// departmentNumber, mail).
	NameAttr       string `json:"name_attr"`
	DepartmentAttr string `json:"department_attr"`
	EmailAttr      string `json:"email_attr"`

	// Group membership: the entry's MemberOfAttr ("memberOf" in AD) if
	// set, else the groups under GroupBaseDN that GroupFilter finds,
	// {dn} standing for the entry's DN (default "(member={dn})").
	MemberOfAttr string `json:"member_of_attr"`
	GroupBaseDN  string `json:"group_base_dn"`
	GroupFilter  string `json:"group_filter"`
	// Groups maps a group's DN to the Zaitaku roles its members hold.
	// A person in none of them may not sign in.
	Groups map[string][]api.Role `json:"groups"`
	// DisabledFilter, matched against the entry, marks it disabled,
	// e.g. "(userAccountControl:1.2.840.113556.1.4.803:=2)" in AD.
	DisabledFilter string `json:"disabled_filter"`

	// For broker/auth (auth.DirectoryConfig).
	LocalAccounts    []string `json:"local_accounts"`
	MaxFailedBinds   int      `json:"max_failed_binds"`
	FailedBindWindow string   `json:"failed_bind_window"` // a Go duration, e.g. "30m"

	Timeout string `json:"timeout"` // per directory call, default "5s"
}

// Validate checks the configuration before the broker starts and says
// what to change.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("ldap.url %q: use ldaps://HOST[:636] or ldap://HOST[:389] with start_tls", c.URL)
	}
	switch u.Scheme {
	case "ldaps":
		if c.StartTLS {
			return errors.New("ldap.start_tls is for ldap:// URLs; ldaps:// is TLS already")
		}
	case "ldap":
		if !c.StartTLS && !c.InsecurePlainForTests {
			return fmt.Errorf("ldap.url %q is plain LDAP: passwords would cross the network in clear. Use ldaps://, or set start_tls", c.URL)
		}
	default:
		return fmt.Errorf("ldap.url %q: the scheme must be ldaps or ldap", c.URL)
	}
	if c.InsecurePlainForTests {
		if h := u.Hostname(); !isLoopback(h) {
			return fmt.Errorf("ldap.insecure_plain_for_tests is only for a test directory on loopback, not %q", h)
		}
	}
	if c.BaseDN == "" {
		return errors.New("ldap.base_dn: name where staff entries are, e.g. ou=staff,dc=city,dc=example")
	}
	if c.BindDN != "" && c.BindPassword == "" {
		return errors.New("ldap.bind_dn is set without a password: give ldap.bind_password_file or ZAITAKU_LDAP_BIND_PASSWORD")
	}
	if c.UserFilter != "" && !strings.Contains(c.UserFilter, "{id}") {
		return fmt.Errorf("ldap.user_filter %q must contain {id}, e.g. (uid={id})", c.UserFilter)
	}
	if c.GroupFilter != "" && !strings.Contains(c.GroupFilter, "{dn}") {
		return fmt.Errorf("ldap.group_filter %q must contain {dn}, e.g. (member={dn})", c.GroupFilter)
	}
	if c.MemberOfAttr == "" && c.GroupBaseDN == "" {
		return errors.New("ldap: set member_of_attr (\"memberOf\" in Active Directory) or group_base_dn, so groups map to roles")
	}
	if len(c.Groups) == 0 {
		return errors.New("ldap.groups: map at least one group DN to roles, e.g. {\"cn=zaitaku-staff,ou=groups,dc=city,dc=example\": [\"staff\"]}")
	}
	for g, roles := range c.Groups {
		if _, err := ldap.ParseDN(g); err != nil {
			return fmt.Errorf("ldap.groups: %q is not a DN: %v", g, err)
		}
		if len(roles) == 0 {
			return fmt.Errorf("ldap.groups[%q]: give at least one role", g)
		}
		for _, r := range roles {
			if !slices.Contains([]api.Role{api.RoleStaff, api.RoleSupervisor, api.RoleAdmin, api.RoleAuditor, api.RoleDeptAdmin}, r) {
				return fmt.Errorf("ldap.groups[%q]: role %q: use staff, supervisor, admin, auditor or dept_admin", g, r)
			}
		}
	}
	for _, d := range []struct{ key, v string }{{"failed_bind_window", c.FailedBindWindow}, {"timeout", c.Timeout}} {
		if d.v == "" {
			continue
		}
		if t, err := time.ParseDuration(d.v); err != nil || t <= 0 {
			return fmt.Errorf("ldap.%s %q: use a duration such as 30m or 5s", d.key, d.v)
		}
	}
	if c.MaxFailedBinds < 0 {
		return errors.New("ldap.max_failed_binds: a number of at least 1 (below the directory's own lockout threshold)")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AuthConfig is what broker/auth needs to sign in through d.
func (c *Config) AuthConfig(d auth.Directory) auth.DirectoryConfig {
	w, _ := time.ParseDuration(c.FailedBindWindow)
	return auth.DirectoryConfig{Directory: d, LocalAccounts: c.LocalAccounts, MaxFailedBinds: c.MaxFailedBinds, FailedBindWindow: w}
}

// UnmarshalJSON keeps unknown keys an error inside the object too.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("ldap: %w", err)
	}
	*c = Config(p)
	return nil
}

// Directory is an LDAP directory as auth.Directory.
type Directory struct {
	cfg     Config
	tls     *tls.Config
	timeout time.Duration
	groups  []group
}

type group struct {
	dn    *ldap.DN
	roles []api.Role
}

var _ auth.Directory = (*Directory)(nil)

// New checks cfg, reads the password file and the CA, and returns the
// directory. It does not dial: a directory that is down at start should
// not stop the broker (local accounts still sign in).
func New(cfg Config, getenv func(string) string) (*Directory, error) {
	if cfg.BindPasswordFile != "" {
		b, err := os.ReadFile(cfg.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("ldap.bind_password_file: %w", err)
		}
		cfg.BindPassword = strings.TrimRight(string(b), "\r\n")
	} else if getenv != nil {
		cfg.BindPassword = getenv("ZAITAKU_LDAP_BIND_PASSWORD")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Directory{cfg: cfg, timeout: 5 * time.Second}
	if cfg.Timeout != "" {
		d.timeout, _ = time.ParseDuration(cfg.Timeout)
	}
	if d.cfg.UserFilter == "" {
		d.cfg.UserFilter = "(uid={id})"
	}
	if d.cfg.GroupFilter == "" {
		d.cfg.GroupFilter = "(member={dn})"
	}
	if d.cfg.DepartmentAttr == "" {
		d.cfg.DepartmentAttr = "departmentNumber"
	}
	if d.cfg.EmailAttr == "" {
		d.cfg.EmailAttr = "mail"
	}
	u, _ := url.Parse(cfg.URL)
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	if cfg.ServerName != "" {
		tc.ServerName = cfg.ServerName
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap.ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	d.tls = tc
	for g, roles := range cfg.Groups {
		dn, _ := ldap.ParseDN(g)
		d.groups = append(d.groups, group{dn: dn, roles: roles})
	}
	return d, nil
}

// Authenticate implements auth.Directory: search as the service account,
// read the entry's groups and state, then bind as the entry.
func (d *Directory) Authenticate(ctx context.Context, staffID, password string) (auth.DirectoryEntry, error) {
	if password == "" {
		return auth.DirectoryEntry{}, auth.ErrDirectoryPassword // an empty bind is anonymous
	}
	conn, err := d.dial(ctx)
	if err != nil {
		return auth.DirectoryEntry{}, err
	}
	defer conn.Close()
	// The request's end ends the directory call too.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if d.cfg.BindDN != "" {
		if err := conn.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
			return auth.DirectoryEntry{}, fmt.Errorf("bind as the service account %s: %w", d.cfg.BindDN, err)
		}
	}
	nameAttrs := []string{"displayName", "cn"}
	if d.cfg.NameAttr != "" {
		nameAttrs = []string{d.cfg.NameAttr}
	}
	attrs := append(slices.Clone(nameAttrs), d.cfg.DepartmentAttr, d.cfg.EmailAttr)
	if d.cfg.MemberOfAttr != "" {
		attrs = append(attrs, d.cfg.MemberOfAttr)
	}
	filter := strings.ReplaceAll(d.cfg.UserFilter, "{id}", ldap.EscapeFilter(staffID))
	res, err := conn.Search(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(d.timeout/time.Second), false, filter, attrs, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return auth.DirectoryEntry{}, fmt.Errorf("search %s for %s: %w", d.cfg.BaseDN, filter, err)
	}
	switch {
	case res == nil || len(res.Entries) == 0:
		return auth.DirectoryEntry{}, auth.ErrDirectoryUnknown
	case len(res.Entries) > 1:
		// Binding as either could sign the wrong person in.
		return auth.DirectoryEntry{}, fmt.Errorf("%s matches more than one entry under %s: make ldap.user_filter unique", filter, d.cfg.BaseDN)
	}
	e := res.Entries[0]
	ent := auth.DirectoryEntry{DN: e.DN, Department: e.GetAttributeValue(d.cfg.DepartmentAttr), Email: e.GetAttributeValue(d.cfg.EmailAttr)}
	for _, a := range nameAttrs {
		if ent.Name = e.GetAttributeValue(a); ent.Name != "" {
			break
		}
	}
	groups, err := d.groupsOf(conn, e)
	if err != nil {
		return auth.DirectoryEntry{}, err
	}
	ent.Roles = d.roles(groups)
	if d.cfg.DisabledFilter != "" {
		r, err := conn.Search(ldap.NewSearchRequest(e.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, int(d.timeout/time.Second), false, d.cfg.DisabledFilter, []string{"1.1"}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return auth.DirectoryEntry{}, fmt.Errorf("check whether %s is disabled: %w", e.DN, err)
		}
		ent.Disabled = r != nil && len(r.Entries) > 0
	}
	// Last, so that the groups and state above were read as the service
	// account, and a refusal here is the person's password.
	if err := conn.Bind(e.DN, password); ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return auth.DirectoryEntry{}, auth.ErrDirectoryPassword
	} else if err != nil {
		return auth.DirectoryEntry{}, fmt.Errorf("bind as %s: %w", e.DN, err)
	}
	return ent, nil
}

func (d *Directory) dial(ctx context.Context) (*ldap.Conn, error) {
	dialer := &net.Dialer{Timeout: d.timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := ldap.DialURL(d.cfg.URL, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", d.cfg.URL, err)
	}
	conn.SetTimeout(d.timeout)
	if d.cfg.StartTLS {
		if err := conn.StartTLS(d.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with %s: %w", d.cfg.URL, err)
		}
	}
	return conn, nil
}

// groupsOf lists the DNs of the groups e is a member of.
func (d *Directory) groupsOf(conn *ldap.Conn, e *ldap.Entry) ([]string, error) {
	if d.cfg.MemberOfAttr != "" {
		return e.GetAttributeValues(d.cfg.MemberOfAttr), nil
	}
	filter := strings.ReplaceAll(d.cfg.GroupFilter, "{dn}", ldap.EscapeFilter(e.DN))
	res, err := conn.Search(ldap.NewSearchRequest(d.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, int(d.timeout/time.Second), false, filter, []string{"1.1"}, nil))
	if err != nil {
		return nil, fmt.Errorf("search groups of %s under %s: %w", e.DN, d.cfg.GroupBaseDN, err)
	}
	out := make([]string, 0, len(res.Entries))
	for _, g := range res.Entries {
		out = append(out, g.DN)
	}
	return out, nil
}

// roles maps group DNs to roles, comparing DNs as LDAP does (case and
// spacing aside).
func (d *Directory) roles(groups []string) []api.Role {
	var out []api.Role
	for _, g := range groups {
		dn, err := ldap.ParseDN(g)
		if err != nil {
			continue
		}
		for _, m := range d.groups {
			if m.dn.EqualFold(dn) {
				out = append(out, m.roles...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
