package daemon

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/services"
)

// DemoRDPPortEnv names the variable that sets the RDP port of the demo
// office PCs (default 3389): `make demo` points it at a local
// freerdp-shadow-cli.
const DemoRDPPortEnv = "ZAITAKU_DEMO_RDP_PORT"

// demoTerminals: one PC per demo member of staff, and a shared one, all on
// 127.0.0.1 (the only network these machines reach).
var demoTerminals = []api.CreateTerminalRequest{
	{ID: "soumu-01", Name: "総務課-01 (山田)", Department: "総務課", UserID: "yamada", MAC: "02:00:5e:00:00:01"},
	{ID: "zeimu-01", Name: "税務課-01 (佐藤)", Department: "税務課", UserID: "sato", MAC: "02:00:5e:00:00:02"},
	{ID: "fukushi-01", Name: "福祉課-01 (鈴木)", Department: "福祉課", UserID: "suzuki", MAC: "02:00:5e:00:00:03"},
	{ID: "soumu-02", Name: "総務課-02 (田中)", Department: "総務課", UserID: "tanaka", MAC: "02:00:5e:00:00:04"},
	{ID: "kyoyo-01", Name: "共用端末-01", Department: "情報政策課", Pool: true, MAC: "02:00:5e:00:00:05"},
	{ID: "fukushi-mn-01", Name: "福祉課-番号系-01 (伊藤)", Department: "福祉課", UserID: "ito", MAC: "02:00:5e:00:00:06",
		Segment: api.SegmentMyNumber},
}

// demoSatellite is the satellite office of the demo: 127.0.0.2, an
// address of this machine a client can bind to show an accepted source.
var demoSatellite = struct {
	id  string
	req api.PutSatelliteOfficeRequest
}{"demo-satellite", api.PutSatelliteOfficeRequest{Name: "デモ用サテライトオフィス", Ranges: []string{"127.0.0.2/32"}}}

func seedDemoSatellite(ctx context.Context, svc *services.Services, out io.Writer) error {
	l, err := svc.Terminals.SatelliteOffices(ctx)
	if err != nil {
		return err
	}
	for _, o := range l {
		if o.ID == demoSatellite.id {
			return nil
		}
	}
	_, err = svc.Terminals.PutSatelliteOffice(ctx, "demo", demoSatellite.id, demoSatellite.req)
	return err
}

func seedDemoTerminals(ctx context.Context, svc *services.Services, out io.Writer) error {
	port := 3389
	if v := os.Getenv(DemoRDPPortEnv); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%s=%q: want a port number", DemoRDPPortEnv, v)
		}
		port = p
	}
	ts := svc.Terminals
	made := 0
	for _, req := range demoTerminals {
		if _, err := ts.Get(ctx, req.ID); err == nil {
			continue
		}
		req.Address, req.RDPPort, req.WakeAddr = "127.0.0.1", port, "127.0.0.1"
		if _, err := ts.Create(ctx, "demo", req); err != nil {
			return fmt.Errorf("demo office pc %s: %w", req.ID, err)
		}
		made++
	}
	if out != nil && made > 0 {
		fmt.Fprintf(out, "Demo office PCs: %d on 127.0.0.1:%d (set %s to move them)\n", made, port, DemoRDPPortEnv)
	}
	return nil
}
