package daemon

import (
	"io"
	"strings"
	"testing"
)

// TestMeetConfig: the media and TURN ports come from flags and the
// environment, "off" turns each off, and mistakes are named.
func TestMeetConfig(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		wantErr  string
		udp      string
		turn     string
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
			if m.UDP != c.udp || m.TURNTCP != c.turn || m.ICETCP != c.iceTCP || m.Loopback != c.loopback {
				t.Errorf("meet config %+v, want udp %q turn %q ice-tcp %q loopback %v", m, c.udp, c.turn, c.iceTCP, c.loopback)
			}
		})
	}
}
