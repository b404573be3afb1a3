package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/schedule"
	"github.com/zaitaku/zaitaku/broker/services"
)

func addMeeting(t *testing.T, st services.Stores, m api.Meeting) {
	t.Helper()
	must(t, st.Meetings().CreateMeeting(t.Context(), m))
}

func meetingIDs(ms []api.Meeting) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

var meetingBehaviours = []behaviour{
	{"a meeting keeps every field and its invitees; an unknown one is not found", func(t *testing.T, st services.Stores) {
		want := api.Meeting{ID: "mtg_1", Title: "課内定例（4月）", StartsAt: at(60), EndsAt: at(90), Department: "総務課",
			CreatedBy: "yamada", CreatedAt: at(0), Invitees: []string{"sato", "suzuki"}}
		addMeeting(t, st, want)
		got, err := st.Meetings().Meeting(t.Context(), "mtg_1")
		must(t, err)
		want.StartsAt, want.EndsAt, want.CreatedAt = want.StartsAt.UTC(), want.EndsAt.UTC(), want.CreatedAt.UTC()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
		noEnd := api.Meeting{ID: "mtg_2", Title: "打合せ", StartsAt: at(60), CreatedBy: "yamada", CreatedAt: at(0)}
		addMeeting(t, st, noEnd)
		got, err = st.Meetings().Meeting(t.Context(), "mtg_2")
		must(t, err)
		if !got.EndsAt.IsZero() || got.Invitees != nil || got.Department != "" {
			t.Errorf("a meeting without end, invitees or department: %+v", got)
		}
		if _, err := st.Meetings().Meeting(t.Context(), "mtg_none"); !errors.Is(err, schedule.ErrNotFound) {
			t.Errorf("unknown meeting: %v, want schedule.ErrNotFound", err)
		}
	}},
	{"the list is the department's, the organizer's and the invitee's meetings not yet ended, by start then ID", func(t *testing.T, st services.Stores) {
		for _, m := range []api.Meeting{
			{ID: "mtg_b", Title: "b", StartsAt: at(120), EndsAt: at(180), Department: "総務課", CreatedBy: "yamada", CreatedAt: at(0)},
			{ID: "mtg_a", Title: "a", StartsAt: at(120), Department: "総務課", CreatedBy: "yamada", CreatedAt: at(0)},
			{ID: "mtg_early", Title: "running", StartsAt: at(-30), EndsAt: at(30), Department: "総務課", CreatedBy: "yamada", CreatedAt: at(-60)},
			{ID: "mtg_over", Title: "over", StartsAt: at(-90), EndsAt: at(-1), Department: "総務課", CreatedBy: "yamada", CreatedAt: at(-120)},
			// No end: listed until MeetingOpenFor after its start.
			{ID: "mtg_open", Title: "open", StartsAt: at(-100), Department: "総務課", CreatedBy: "yamada", CreatedAt: at(-120)},
			{ID: "mtg_stale", Title: "stale", StartsAt: at(-121), Department: "総務課", CreatedBy: "yamada", CreatedAt: at(-200)},
			{ID: "mtg_tax", Title: "other dept", StartsAt: at(10), Department: "税務課", CreatedBy: "kato", CreatedAt: at(0)},
			{ID: "mtg_inv", Title: "invited", StartsAt: at(20), Department: "税務課", CreatedBy: "kato", CreatedAt: at(0), Invitees: []string{"sato"}},
			{ID: "mtg_own", Title: "own, no dept", StartsAt: at(30), CreatedBy: "sato", CreatedAt: at(0)},
		} {
			addMeeting(t, st, m)
		}
		list := func(dept, user string, limit int) []string {
			t.Helper()
			ms, err := st.Meetings().ListMeetings(t.Context(), dept, user, at(0), limit)
			must(t, err)
			return meetingIDs(ms)
		}
		if got, want := list("総務課", "sato", 100), []string{"mtg_open", "mtg_early", "mtg_inv", "mtg_own", "mtg_a", "mtg_b"}; !reflect.DeepEqual(got, want) {
			t.Errorf("総務課's sato sees %v, want %v", got, want)
		}
		if got, want := list("税務課", "kato", 100), []string{"mtg_tax", "mtg_inv"}; !reflect.DeepEqual(got, want) {
			t.Errorf("税務課's kato sees %v, want %v", got, want)
		}
		if got := list("", "nobody", 100); len(got) != 0 {
			t.Errorf("staff without a department see %v: an empty department is nobody's", got)
		}
		if got, want := list("総務課", "sato", 2), []string{"mtg_open", "mtg_early"}; !reflect.DeepEqual(got, want) {
			t.Errorf("limit 2: %v", got)
		}
		ms, err := st.Meetings().ListMeetings(t.Context(), "総務課", "sato", at(0), 100)
		must(t, err)
		for _, m := range ms {
			if m.ID == "mtg_inv" && !reflect.DeepEqual(m.Invitees, []string{"sato"}) {
				t.Errorf("listed invitees %v", m.Invitees)
			}
		}
	}},
}
