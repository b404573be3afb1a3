package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// viaSource returns a URL for the broker whose connections reach it from
// the local address src: a TCP relay, as the router of a satellite office
// would be. TLS passes through it untouched, so pins and the tunnel's
// channel binding hold.
func viaSource(t *testing.T, brokerURL, src string) string {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := d.Dial("tcp", u.Host)
				if err != nil {
					t.Errorf("dial the broker from %s: %v (is %s on the loopback interface?)", src, err, src)
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return "https://" + ln.Addr().String()
}

// as is the session s seen from another URL (another source address).
func as(t *testing.T, b *brokertest.Broker, s *brokertest.Session, base string) *api.Client {
	t.Helper()
	c, err := api.NewClient(base, api.ClientOptions{Pins: []string{b.Pin}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(s.Token())
	c.SetSigner(s.Sign)
	return c
}

// reachEvents returns the segment events of the user in the operation log.
func reachEvents(t *testing.T, b *brokertest.Broker, user, typ string) []api.OplogRecord {
	t.Helper()
	page, err := b.Services.Oplog.Search(context.Background(), oplog.Query{User: user, Type: typ, Limit: 100, Asc: true})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// TestE2ESegmentMyNumber: a PC in the My Number segment refuses a session
// and a tunnel from home and accepts them from a satellite office
// (127.0.0.2 plays it), both outcomes in the operation log; a PC in the
// LGWAN segment is reachable from home as before.
func TestE2ESegmentMyNumber(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	adm := b.Signin(t, "seg-it", api.RoleAdmin)
	u := b.CreateUser(t, "k3001")
	pcPort := brokertest.OfficePC(t, brokertest.Echo)
	if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-mn", Name: "市民課 番号系", Address: "127.0.0.1",
		RDPPort: pcPort, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.SetSegment(ctx, "pc-mn", api.SetSegmentRequest{Segment: api.SegmentMyNumber}); code(err) != api.CodeValidation {
		t.Fatalf("segment without a reason: %v, want %s", err, api.CodeValidation)
	}
	pc, err := adm.SetSegment(ctx, "pc-mn", api.SetSegmentRequest{Segment: api.SegmentMyNumber, Reason: "個人番号利用事務系の端末"})
	if err != nil || pc.Segment != api.SegmentMyNumber {
		t.Fatalf("set segment: %+v %v", pc, err)
	}
	home := b.Login(t, u) // from 127.0.0.1
	satellite := as(t, b, home, viaSource(t, b.URL, "127.0.0.2"))

	// No satellite office yet: refused from everywhere.
	if _, err := satellite.RequestSlot(ctx, api.SlotRequest{}); code(err) != api.CodeSegmentRefused {
		t.Fatalf("slot before any satellite office: %v, want %s", err, api.CodeSegmentRefused)
	}
	if _, err := adm.PutSatelliteOffice(ctx, "kita", api.PutSatelliteOfficeRequest{Name: "北サテライトオフィス", Ranges: []string{"0.0.0.0/0"}}); code(err) != api.CodeValidation {
		t.Fatalf("a range of every address: %v, want %s", err, api.CodeValidation)
	}
	if _, err := adm.PutSatelliteOffice(ctx, "kita", api.PutSatelliteOfficeRequest{Name: "北サテライトオフィス", Ranges: []string{"127.0.0.2"}}); err != nil {
		t.Fatal(err)
	}

	_, err = home.RequestSlot(ctx, api.SlotRequest{})
	if e := api.AsError(err); e == nil || e.Code != api.CodeSegmentRefused || !strings.Contains(e.MessageJA, "サテライトオフィス") || e.Detail != "from 127.0.0.1" {
		t.Fatalf("slot from home: %v, want %s saying why, from 127.0.0.1", err, api.CodeSegmentRefused)
	}
	slot, err := satellite.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || slot.State != api.SlotGranted {
		t.Fatalf("slot from the satellite office: %+v %v", slot, err)
	}
	// The slot was granted at the office; a tunnel from home is refused.
	if _, err := home.DialTunnel(ctx, slot.ID); code(err) != api.CodeSegmentRefused {
		t.Fatalf("tunnel from home: %v, want %s", err, api.CodeSegmentRefused)
	}
	tun, err := satellite.DialTunnel(ctx, slot.ID)
	if err != nil {
		t.Fatalf("tunnel from the satellite office: %v", err)
	}
	defer tun.Close()
	if _, err := tun.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(tun, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the tunnel: %q %v", buf, err)
	}

	refused := reachEvents(t, b, u.ID, "segment.reach_refused")
	allowed := reachEvents(t, b, u.ID, "segment.reach_allowed")
	want := func(evs []api.OplogRecord, stage, source, office string) {
		t.Helper()
		for _, e := range evs {
			f := e.Fields
			if e.Target == "pc-mn" && f["stage"] == stage && f["source"] == source && f["office"] == office && f["segment"] == api.SegmentMyNumber {
				return
			}
		}
		t.Errorf("no %s event from %s (office %q) in the operation log: %+v", stage, source, office, evs)
	}
	want(refused, "slot", "127.0.0.2", "") // before the office was registered
	want(refused, "slot", "127.0.0.1", "")
	want(refused, "tunnel", "127.0.0.1", "")
	want(allowed, "slot", "127.0.0.2", "kita")
	want(allowed, "tunnel", "127.0.0.2", "kita")
	if len(refused) != 3 || len(allowed) != 2 {
		t.Errorf("%d refusals and %d acceptances recorded, want 3 and 2", len(refused), len(allowed))
	}

	// An LGWAN PC is reached from home as before, and records no segment event.
	u2 := b.CreateUser(t, "k3002")
	if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-lg", Name: "市民課", Address: "127.0.0.1",
		RDPPort: pcPort, UserID: u2.ID}); err != nil {
		t.Fatal(err)
	}
	if sl, err := b.Login(t, u2).RequestSlot(ctx, api.SlotRequest{}); err != nil || sl.State != api.SlotGranted {
		t.Fatalf("LGWAN PC from home: %+v %v", sl, err)
	}
	if n := len(reachEvents(t, b, u2.ID, "segment.reach_allowed")) + len(reachEvents(t, b, u2.ID, "segment.reach_refused")); n != 0 {
		t.Errorf("%d segment events for an LGWAN PC", n)
	}
	// A My Number PC is paired with one person, never in the shared pool.
	if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-pool-mn", Name: "共用", Address: "127.0.0.1",
		Pool: true, Segment: api.SegmentMyNumber}); code(err) != api.CodeValidation {
		t.Fatalf("a My Number pool PC: %v, want %s", err, api.CodeValidation)
	}
}

// TestSegmentSourceThroughTrustedProxy: behind a trusted proxy the source
// is the address it forwards; from any other peer the header is ignored.
func TestSegmentSourceThroughTrustedProxy(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRateLimits("off", "off", "127.0.0.1"))
	ctx := context.Background()
	adm := b.Signin(t, "seg-it2", api.RoleAdmin)
	u := b.CreateUser(t, "k3003")
	if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-mn2", Name: "番号系", Address: "127.0.0.1",
		RDPPort: brokertest.OfficePC(t, brokertest.Echo), UserID: u.ID, Segment: api.SegmentMyNumber}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.PutSatelliteOffice(ctx, "minami", api.PutSatelliteOfficeRequest{Name: "南", Ranges: []string{"198.51.100.0/28"}}); err != nil {
		t.Fatal(err)
	}
	s := b.Login(t, u)
	post := func(base, xff string) int {
		t.Helper()
		c := as(t, b, s, base)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/slots", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(viaSource(t, b.URL, "127.0.0.3"), "198.51.100.5"); st != http.StatusForbidden {
		t.Fatalf("forwarded address from a peer that is no proxy: %d, want 403", st)
	}
	if st := post(b.URL, "203.0.113.9"); st != http.StatusForbidden {
		t.Fatalf("a home address through the proxy: %d, want 403", st)
	}
	if st := post(b.URL, "198.51.100.5"); st != http.StatusOK {
		t.Fatalf("the satellite office through the proxy: %d, want 200", st)
	}
	if evs := reachEvents(t, b, u.ID, "segment.reach_allowed"); len(evs) != 1 || evs[0].Fields["source"] != "198.51.100.5" {
		t.Fatalf("acceptance in the operation log: %+v", evs)
	}
}
