package rdp

import (
	"context"
	"errors"
	"testing"
)

func TestLaunchNamesMissingPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Launch(context.Background(), Spec{Host: "127.0.0.1", Port: 3389})
	if !errors.Is(err, ErrClientMissing) {
		t.Fatalf("err = %v, want ErrClientMissing", err)
	}
	if want := "freerdp2-x11"; !contains(err.Error(), want) {
		t.Fatalf("err %q does not name the package %s", err, want)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
