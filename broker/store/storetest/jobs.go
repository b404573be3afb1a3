package storetest

import (
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/services"
)

var jobBehaviours = []behaviour{
	{"the first claim of a job wins; another before its period is over loses, one after wins", func(t *testing.T, st services.Stores) {
		j := st.Jobs()
		claim := func(by string, now, notBefore time.Time) bool {
			t.Helper()
			won, err := j.ClaimRun(t.Context(), "oplog.purge", by, now, notBefore)
			must(t, err)
			return won
		}
		if !claim("broker-a", at(0), at(-60)) {
			t.Fatal("the first claim lost")
		}
		if claim("broker-b", at(30), at(-30)) {
			t.Error("a claim within the period won: the job would run twice")
		}
		if !claim("broker-b", at(61), at(1)) {
			t.Error("a claim past the period lost: the job would stop when its broker died")
		}
		if claim("broker-a", at(62), at(2)) {
			t.Error("a claim right after broker-b's won")
		}
		won, err := j.ClaimRun(t.Context(), "chat.purge", "broker-a", at(62), at(2))
		must(t, err)
		if !won {
			t.Error("another job's claim lost: names must be independent")
		}
	}},
	{"of concurrent claims of one period exactly one wins", func(t *testing.T, st services.Stores) {
		const brokers = 8
		won := make([]bool, brokers)
		errs := concurrently(brokers, func(i int) error {
			var err error
			won[i], err = st.Jobs().ClaimRun(t.Context(), "release.sign", "broker", at(0), at(-60))
			return err
		})
		n := 0
		for i, err := range errs {
			must(t, err)
			if won[i] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d of %d concurrent claims won, want exactly 1", n, brokers)
		}
	}},
}
