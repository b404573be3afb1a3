package daemon

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMeetConfig: the media and TURN ports come from flags and the
// environment, "off" turns each off, and mistakes are named. TURN over
// TLS is off unless asked for, needs the broker's own TLS, and a TCP
// port no other listener has.
func TestMeetConfig(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		wantErr  string
		udp      string
		turn     string
		turnTLS  string
		iceTCP   string
		loopback bool
	}{
		{name: "defaults", udp: ":8443", turn: ":3478"},
		{name: "loopback", args: []string{"-meet-udp", "127.0.0.1:7000"}, udp: "127.0.0.1:7000", turn: ":3478", loopback: true},
		{name: "off", args: []string{"-meet-udp", "off"}},
		{name: "no TURN", args: []string{"-meet-turn-tcp", "off"}, udp: ":8443"},
		{name: "environment", env: map[string]string{"ZAITAKU_MEET_UDP": ":9000", "ZAITAKU_MEET_TURN_TCP": ":443"}, udp: ":9000", turn: ":443"},
		{name: "bad UDP", args: []string{"-meet-udp", "8443"}, wantErr: "-meet-udp"},
		{name: "bad TURN", args: []string{"-meet-turn-tcp", "x"}, wantErr: "-meet-turn-tcp"},
		{name: "ICE over TCP", args: []string{"-meet-ice-tcp", ":8444"}, udp: ":8443", turn: ":3478", iceTCP: ":8444"},
		{name: "ICE over TCP from the environment", env: map[string]string{"ZAITAKU_MEET_ICE_TCP": ":443"}, udp: ":8443", turn: ":3478", iceTCP: ":443"},
		{name: "bad ICE TCP", args: []string{"-meet-ice-tcp", "tcp"}, wantErr: "-meet-ice-tcp"},
		{name: "TURN over TLS", args: []string{"-meet-turn-tls", ":443"}, udp: ":8443", turn: ":3478", turnTLS: ":443"},
		{name: "TURN over TLS alone", args: []string{"-meet-turn-tcp", "off", "-meet-turn-tls", ":443"}, udp: ":8443", turnTLS: ":443"},
		{name: "TURN over TLS from the environment", env: map[string]string{"ZAITAKU_MEET_TURN_TLS": "192.0.2.7:443"}, udp: ":8443", turn: ":3478", turnTLS: "192.0.2.7:443"},
		{name: "TURN over TLS beside HTTPS on another address", args: []string{"-listen", "192.0.2.6:443", "-meet-turn-tls", "192.0.2.7:443"}, udp: ":8443", turn: ":3478", turnTLS: "192.0.2.7:443"},
		{name: "bad TURN over TLS", args: []string{"-meet-turn-tls", "443"}, wantErr: "-meet-turn-tls"},
		{name: "TURN over TLS on the HTTPS port", args: []string{"-meet-turn-tls", "127.0.0.1:8443"}, wantErr: "port of its own"},
		{name: "TURN over TLS on the TURN port", args: []string{"-meet-turn-tls", ":3478"}, wantErr: "-meet-turn-tcp"},
		{name: "TURN over TLS without TLS", args: []string{"-insecure-http", "-meet-turn-tls", ":443"}, wantErr: "-insecure-http"},
		{name: "bad public IP", args: []string{"-meet-public-ips", "203.0.113.7,nope"}, wantErr: "-meet-public-ips"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseServe(c.args, func(k string) string { return c.env[k] }, io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := cfg.Meet()
			if m.UDP != c.udp || m.TURNTCP != c.turn || m.TURNTLS != c.turnTLS || m.ICETCP != c.iceTCP || m.Loopback != c.loopback {
				t.Errorf("meet config %+v, want udp %q turn %q turn-tls %q ice-tcp %q loopback %v", m, c.udp, c.turn, c.turnTLS, c.iceTCP, c.loopback)
			}
		})
	}
}

// TestMeetSiteICEServers: a site's own STUN/TURN servers come from a
// JSON file (TURN passwords stay out of the process list); a file that
// is missing, not a list, or names a TURN server without credentials
// stops the broker with what to write.
func TestMeetSiteICEServers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `[{"urls":["turns:turn.city.lg.jp:443?transport=tcp"],"username":"zaitaku","credential":"s3cret"},{"urls":["stun:stun.city.lg.jp:3478"]}]`)
	cfg, err := ParseServe([]string{"-meet-ice-servers", good}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Meet()
	if len(m.ICEServers) != 2 || m.ICEServers[0].Credential != "s3cret" || m.ICEServers[1].URLs[0] != "stun:stun.city.lg.jp:3478" {
		t.Fatalf("site servers %+v", m.ICEServers)
	}
	for name, c := range map[string]struct{ path, want string }{
		"missing":         {filepath.Join(dir, "none.json"), "no such file"},
		"not a list":      {write("obj.json", `{"urls":"stun:x"}`), "not a JSON list"},
		"unknown field":   {write("typo.json", `[{"url":["stun:x"]}]`), "not a JSON list"},
		"empty":           {write("empty.json", `[]`), "give 1 to 8"},
		"no urls":         {write("nourls.json", `[{"username":"u"}]`), "has no urls"},
		"turn, no secret": {write("nocred.json", `[{"urls":["turn:turn.city.lg.jp:3478"],"username":"u"}]`), "needs a username and a credential"},
		"not ICE":         {write("http.json", `[{"urls":["https://turn.city.lg.jp"]}]`), "not a stun:, turn: or turns: URL"},
	} {
		_, err := ParseServe(nil, func(k string) string {
			if k == "ZAITAKU_MEET_ICE_SERVERS" {
				return c.path
			}
			return ""
		}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "-meet-ice-servers") {
			t.Errorf("%s: err %v, want one naming -meet-ice-servers and %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows a credential: %v", name, err)
		}
	}
}
