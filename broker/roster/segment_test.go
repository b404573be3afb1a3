package roster_test

import (
	"context"
	"slices"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
)

// TestRosterSegmentColumn: a roster that lists office PCs may give each
// one's network segment (ネットワーク区分) in the words asset sheets use;
// a PC it does not name keeps its segment; a department's IT contact may
// not move a PC between segments.
func TestRosterSegmentColumn(t *testing.T) {
	b := startRoster(t)
	ctx := context.Background()
	h := "職員番号,氏名,所属,端末名,ネットワーク区分\n"
	csv := []byte(h + "k1001,山田 花子,福祉課,pc-fk-01,個人番号利用事務系\n" +
		"k1002,佐藤 一郎,福祉課,pc-fk-02,\n")
	imp := b.apply(t, csv, api.RosterImportRequest{})
	if imp.Status != api.RosterApplied {
		t.Fatalf("import: %+v", imp.Report)
	}
	if pc := b.pc(t, "pc-fk-01"); pc.Segment != api.SegmentMyNumber {
		t.Errorf("pc-fk-01: segment %q, want mynumber", pc.Segment)
	}
	if pc := b.pc(t, "pc-fk-02"); pc.Segment != api.SegmentLGWAN {
		t.Errorf("pc-fk-02 (no segment given): %q, want lgwan", pc.Segment)
	}
	rep := b.dryRun(t, []byte(h+"k1001,山田 花子,福祉課,pc-fk-01,LGWAN接続系\n"), api.RosterImportRequest{})
	if len(rep.Problems) != 0 || len(rep.Lines) != 1 || !slices.Contains(rep.Lines[0].Changes, "pc-fk-01 segment: mynumber → lgwan") {
		t.Errorf("dry run of a segment change: %+v", rep)
	}
	rep = b.dryRun(t, []byte(h+"k1001,山田 花子,福祉課,pc-fk-01,番号\n"), api.RosterImportRequest{})
	wantProblem(t, rep.Problems, 2, 5, "ネットワーク区分", "not a network segment")
	rep = b.dryRun(t, []byte("職員番号,氏名,所属,ネットワーク区分\nk1001,山田 花子,福祉課,lgwan\n"), api.RosterImportRequest{})
	wantProblem(t, rep.Problems, 1, 0, "", "segment column needs the column 端末名")

	fk := "福祉課"
	it := b.CreateUser(t, "fk-it", api.RoleStaff, api.RoleDeptAdmin)
	if _, err := b.Services.Auth.UpdateUser(ctx, "test", "fk-it", api.UpdateUserRequest{Department: &fk}); err != nil {
		t.Fatal(err)
	}
	rep, err := b.Login(t, it).RosterDryRun(ctx, api.RosterImportRequest{CSV: []byte(h + "k1001,山田 花子,福祉課,pc-fk-01,lgwan\n")})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, rep.Problems, 2, 4, "端末名", "central IT's to set")
}
