package directory

import (
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
)

// TestConfigRefuses: a directory config that would send passwords in
// clear, or could not map anyone to a role, does not start the broker.
func TestConfigRefuses(t *testing.T) {
	good := func() Config {
		return Config{URL: "ldaps://dc1.city.example", BaseDN: "ou=staff,dc=city,dc=example", MemberOfAttr: "memberOf",
			Groups: map[string][]api.Role{"cn=zaitaku,ou=groups,dc=city,dc=example": {api.RoleStaff}}}
	}
	for _, tc := range []struct {
		name, want string
		change     func(*Config)
	}{
		{"plain ldap", "in clear", func(c *Config) { c.URL = "ldap://dc1.city.example" }},
		{"insecure flag off loopback", "only for a test directory on loopback", func(c *Config) {
			c.URL, c.InsecurePlainForTests = "ldap://dc1.city.example", true
		}},
		{"start_tls on ldaps", "ldaps:// is TLS already", func(c *Config) { c.StartTLS = true }},
		{"other scheme", "ldaps or ldap", func(c *Config) { c.URL = "http://dc1" }},
		{"no base", "base_dn", func(c *Config) { c.BaseDN = "" }},
		{"bind without password", "bind_password_file", func(c *Config) { c.BindDN = "cn=svc,dc=city,dc=example" }},
		{"filter without id", "{id}", func(c *Config) { c.UserFilter = "(uid=k1001)" }},
		{"no groups", "ldap.groups", func(c *Config) { c.Groups = nil }},
		{"no membership", "member_of_attr", func(c *Config) { c.MemberOfAttr = "" }},
		{"unknown role", "use staff", func(c *Config) {
			c.Groups = map[string][]api.Role{"cn=x,dc=city,dc=example": {"root"}}
		}},
		{"bad window", "duration", func(c *Config) { c.FailedBindWindow = "soon" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	for name, c := range map[string]Config{
		"ldaps":         good(),
		"StartTLS":      func() Config { c := good(); c.URL, c.StartTLS = "ldap://dc1.city.example", true; return c }(),
		"test loopback": func() Config { c := good(); c.URL, c.InsecurePlainForTests = "ldap://127.0.0.1:3389", true; return c }(),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestConfigRefusesUnknownKeys: a misspelt key in the "ldap" object (or a
// password written into the file) is an error, not ignored.
func TestConfigRefusesUnknownKeys(t *testing.T) {
	for _, js := range []string{`{"url": "ldaps://x", "bind_password": "secret"}`, `{"urll": "ldaps://x"}`} {
		var c Config
		if err := c.UnmarshalJSON([]byte(js)); err == nil {
			t.Errorf("%s: accepted", js)
		}
	}
}
