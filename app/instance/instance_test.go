package instance

import (
	"os"
	"testing"
	"time"
)

func TestSecondLaunchShowsTheWindow(t *testing.T) {
	dir := t.TempDir()
	if AskToShow(dir) {
		t.Fatal("AskToShow answered with no app running")
	}
	shown := make(chan struct{}, 2)
	l, err := Listen(dir, func() { shown <- struct{}{} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if !AskToShow(dir) {
			t.Fatalf("launch %d: no answer from the running app", i+2)
		}
		select {
		case <-shown:
		case <-time.After(5 * time.Second):
			t.Fatalf("launch %d: the window was not shown", i+2)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if AskToShow(dir) {
		t.Fatal("AskToShow answered after Close")
	}
}

// TestStaleSocketIsReplaced: after a crash the socket file stays behind;
// the next app (the only instance, by the journal's lock) takes it over.
func TestStaleSocketIsReplaced(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(socket(dir), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	shown := make(chan struct{}, 1)
	l, err := Listen(dir, func() { shown <- struct{}{} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !AskToShow(dir) {
		t.Fatal("no answer through the replaced socket")
	}
	select {
	case <-shown:
	case <-time.After(5 * time.Second):
		t.Fatal("the window was not shown")
	}
}
