// Package storetest is the store contract: what the domains rely on from
// a database engine, written against the interfaces they declare
// (auth.Store, oplog.Store, terminal.Store, events.Store, slots.Store,
// release.Store, chat.Store, roster.Store, telework.Store, jobs.Store,
// schedule.Store) so that every
// engine (SQLite, PostgreSQL) is held to the same behaviour.
// An engine's test calls Run with a function that opens a fresh one.
//
// Promises the suite pins for every engine:
//
//   - Not found and conflicts are reported with the domain's sentinels
//     (errors.Is), never with driver errors the domain cannot tell apart.
//   - Writes the interfaces call transactions (UpdateUser, UpdateTerminal,
//     InTx, ApplySlots, AppendEvents) are all or nothing, and concurrent
//     ones are serialized: no update is lost.
//   - Times are kept to the millisecond; the rest is dropped, never rounded
//     up, so a stored expiry is never later than the one asked for. They
//     come back as the same instant whatever zone the caller used, in UTC
//     (so that JSON and logs read the same whichever engine stored them),
//     and a zero time comes back zero.
//   - Lists come in a stated order, and keyset pages cover every row once.
//   - The stores are one database: behaviours that span them (a PC's
//     state written by slots, user names in live slots, a department's
//     operation logs) see each other's rows. Rows other rows refer to
//     (users, devices) are created first, so an engine may enforce its
//     foreign keys.
//
// Left open on purpose, because no domain depends on it: who stamps
// UserRecord.UpdatedAt; what RevokeSession, TouchDevice, SetTerminalState
// and UseOTPCounter do with an unknown ID; whether event data "null" comes
// back as null or empty; whether a department search finds the rows a
// member of staff logged before moving to another department.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/services"
)

// behaviour is one promise of the contract, checked on a fresh engine.
type behaviour struct {
	name string
	run  func(t *testing.T, st services.Stores)
}

// Run checks every behaviour of the contract, one subtest each, grouped
// by interface ("auth/...", "oplog/...", ...). open must return a fresh,
// empty, migrated engine and close it when t ends: each behaviour gets
// its own, so none depends on what another left behind.
func Run(t *testing.T, open func(t *testing.T) services.Stores) {
	groups := []struct {
		name string
		bs   []behaviour
	}{
		{"auth", authBehaviours},
		{"oplog", oplogBehaviours},
		{"terminals", terminalBehaviours},
		{"segments", segmentBehaviours},
		{"events", eventBehaviours},
		{"slots", slotBehaviours},
		{"releases", releaseBehaviours},
		{"chat", chatBehaviours},
		{"roster", rosterBehaviours},
		{"telework", teleworkBehaviours},
		{"reports", reportBehaviours},
		{"jobs", jobBehaviours},
		{"meet", meetBehaviours},
		{"meetings", meetingBehaviours},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, b := range g.bs {
				t.Run(b.name, func(t *testing.T) { b.run(t, open(t)) })
			}
		})
	}
}

// jst is where the municipalities' callers live: inputs in JST must come
// back as the same instant.
var jst = time.FixedZone("JST", 9*60*60)

// t0 is the suite's fixed clock, a millisecond-exact instant in JST.
var t0 = time.Date(2026, time.April, 1, 9, 30, 0, 0, jst)

// at is t0 plus minutes.
func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// subMS is a time with a sub-millisecond part large enough that rounding
// would give another millisecond than truncation.
var subMS = t0.Add(1999999 * time.Nanosecond)

// trunc is what an engine gives back for a time: the instant, to the
// millisecond.
func trunc(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err matches the sentinel.
func wantErr(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: err = %v, want %v", what, err, sentinel)
	}
}

var timeType = reflect.TypeOf(time.Time{})

// same fails for every field where got differs from want. Times compare
// as instants and must come back in UTC (see the package comment); byte
// slices compare by content, so nil and empty are alike, as they are for
// other slices.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	var diffs []string
	diff(&diffs, what, reflect.ValueOf(got), reflect.ValueOf(want))
	for _, d := range diffs {
		t.Error(d)
	}
}

func diff(out *[]string, path string, g, w reflect.Value) {
	if g.Type() != w.Type() {
		*out = append(*out, fmt.Sprintf("%s: type %s, want %s", path, g.Type(), w.Type()))
		return
	}
	if g.Type() == timeType {
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		switch {
		case wt.IsZero() && !gt.IsZero():
			*out = append(*out, fmt.Sprintf("%s = %v, want the zero time", path, gt))
		case wt.IsZero():
		case !gt.Equal(wt):
			*out = append(*out, fmt.Sprintf("%s = %v, want %v", path, gt.UTC().Format(time.RFC3339Nano), wt.UTC().Format(time.RFC3339Nano)))
		case gt.Location() != time.UTC:
			*out = append(*out, fmt.Sprintf("%s = %v: the right instant, but not in UTC", path, gt))
		}
		return
	}
	switch g.Kind() {
	case reflect.Struct:
		for i := range g.NumField() {
			diff(out, path+"."+g.Type().Field(i).Name, g.Field(i), w.Field(i))
		}
	case reflect.Pointer:
		switch {
		case g.IsNil() != w.IsNil():
			*out = append(*out, fmt.Sprintf("%s: nil %v, want nil %v", path, g.IsNil(), w.IsNil()))
		case !g.IsNil():
			diff(out, path, g.Elem(), w.Elem())
		}
	case reflect.Slice:
		if g.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(g.Bytes(), w.Bytes()) {
				*out = append(*out, fmt.Sprintf("%s = %q, want %q", path, g.Bytes(), w.Bytes()))
			}
			return
		}
		if g.Len() != w.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d elements, want %d", path, g.Len(), w.Len()))
			return
		}
		for i := range g.Len() {
			diff(out, fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			*out = append(*out, fmt.Sprintf("%s = %#v, want %#v", path, g.Interface(), w.Interface()))
		}
	}
}

// concurrently runs fn(0) to fn(n-1) at once and returns their errors by i.
// The racing behaviours always pass on a correct engine; on one that reads
// and writes in separate steps they fail often, though not on every run
// (with no sleeps, how much the goroutines overlap is up to the scheduler).
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}
