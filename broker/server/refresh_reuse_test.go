package server_test

import (
	"context"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// TestRefreshReuseRevokesSession: a refresh token presented again after
// it was rotated means two parties hold the session; the session ends for
// both (the new access and refresh tokens stop working) and it is audited.
func TestRefreshReuseRevokesSession(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	s := b.Signin(t, "reuse01")
	stolen := s.RefreshRequest(b.Now())
	resp, err := s.Refresh(ctx, stolen)
	if err != nil {
		t.Fatal(err)
	}
	s.Login.RefreshToken = resp.RefreshToken
	s.SetToken(resp.AccessToken)
	if _, err := s.Me(ctx); err != nil {
		t.Fatalf("the rotated session works: %v", err)
	}

	// The old token again (a thief's copy, or the app's own after a lost answer).
	if _, err := s.Refresh(ctx, stolen); code(err) != api.CodeRefreshInvalid {
		t.Fatalf("reused refresh token: %v, want %s", err, api.CodeRefreshInvalid)
	}
	if _, err := s.Me(ctx); code(err) != api.CodeUnauthenticated {
		t.Fatalf("the session's current access token after the reuse: %v", err)
	}
	if _, err := s.Refresh(ctx, s.RefreshRequest(b.Now())); code(err) != api.CodeRefreshInvalid {
		t.Fatalf("the session's current refresh token after the reuse: %v", err)
	}
	page, err := b.Services.Oplog.Search(ctx, oplog.Query{User: "reuse01", Type: "auth.refresh_reused", Limit: 10})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("audit of the reuse: %+v %v", page, err)
	}
	// An unknown token is refused without touching any session.
	other := b.Signin(t, "reuse02")
	bogus := other.RefreshRequest(b.Now())
	bogus.RefreshToken = "zrt_" + "0000000000000000000000000000000000000000000"
	if _, err := other.Refresh(ctx, bogus); code(err) != api.CodeRefreshInvalid {
		t.Fatalf("unknown token: %v", err)
	}
	if _, err := other.Me(ctx); err != nil {
		t.Fatalf("an unknown token ended a session: %v", err)
	}
}
