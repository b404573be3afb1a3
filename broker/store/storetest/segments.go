package storetest

import (
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/terminal"
)

// segmentBehaviours: an office PC's network segment and the satellite
// offices (terminal.Store).
var segmentBehaviours = []behaviour{
	{"a PC's segment is kept and changed in UpdateTerminal", func(t *testing.T, st services.Stores) {
		tm := newTerminal("pc-mn", "")
		tm.Segment = api.SegmentMyNumber
		addTerminal(t, st, tm)
		if got := getTerminal(t, st, "pc-mn").Segment; got != api.SegmentMyNumber {
			t.Fatalf("segment = %q, want mynumber", got)
		}
		_, err := st.Terminals().UpdateTerminal(t.Context(), "pc-mn", func(x *api.Terminal) error {
			x.Segment = api.SegmentInternet
			return nil
		})
		must(t, err)
		if got := getTerminal(t, st, "pc-mn").Segment; got != api.SegmentInternet {
			t.Fatalf("segment after update = %q, want internet", got)
		}
	}},
	{"a PC written without a segment is LGWAN", func(t *testing.T, st services.Stores) {
		tm := newTerminal("pc-old", "")
		tm.Segment = ""
		addTerminal(t, st, tm)
		if got := getTerminal(t, st, "pc-old").Segment; got != api.SegmentLGWAN {
			t.Fatalf("segment = %q, want lgwan", got)
		}
	}},
	{"put creates a satellite office, put again replaces it and keeps its creation", func(t *testing.T, st services.Stores) {
		ts := st.Terminals()
		o, err := ts.PutSatelliteOffice(t.Context(), api.SatelliteOffice{ID: "kita", Name: "北サテライト",
			Ranges: []string{"192.0.2.0/28"}, CreatedAt: at(0), UpdatedAt: at(0)})
		must(t, err)
		same(t, "created", o.CreatedAt, at(0))
		o, err = ts.PutSatelliteOffice(t.Context(), api.SatelliteOffice{ID: "kita", Name: "北サテライトオフィス",
			Ranges: []string{"192.0.2.0/28", "2001:db8::/48"}, CreatedAt: at(5), UpdatedAt: at(5)})
		must(t, err)
		same(t, "created after replace", o.CreatedAt, at(0))
		_, err = ts.PutSatelliteOffice(t.Context(), api.SatelliteOffice{ID: "minami", Name: "南", Ranges: []string{"198.51.100.7/32"},
			CreatedAt: at(6), UpdatedAt: at(6)})
		must(t, err)
		l, err := ts.ListSatelliteOffices(t.Context())
		must(t, err)
		same(t, "offices", l, []api.SatelliteOffice{
			{ID: "kita", Name: "北サテライトオフィス", Ranges: []string{"192.0.2.0/28", "2001:db8::/48"}, CreatedAt: at(0), UpdatedAt: at(5)},
			{ID: "minami", Name: "南", Ranges: []string{"198.51.100.7/32"}, CreatedAt: at(6), UpdatedAt: at(6)},
		})
	}},
	{"delete removes an office; a missing one is not found", func(t *testing.T, st services.Stores) {
		ts := st.Terminals()
		_, err := ts.PutSatelliteOffice(t.Context(), api.SatelliteOffice{ID: "kita", Name: "北", Ranges: []string{"192.0.2.0/28"},
			CreatedAt: at(0), UpdatedAt: at(0)})
		must(t, err)
		must(t, ts.DeleteSatelliteOffice(t.Context(), "kita"))
		wantErr(t, "second delete", ts.DeleteSatelliteOffice(t.Context(), "kita"), terminal.ErrNotFound)
		l, err := ts.ListSatelliteOffices(t.Context())
		must(t, err)
		if len(l) != 0 {
			t.Fatalf("offices after delete: %v", l)
		}
	}},
}
