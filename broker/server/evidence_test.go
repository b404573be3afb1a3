package server_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestRevokedLaptopUploadsEvidenceOnly: once IT revokes a laptop its
// tokens are dead, but its signed journal is still taken, without a
// token, as evidence: only from that revoked laptop, only with its key,
// only within the window; the revocation answer points at the timeline
// where the evidence lands, and both ends are audited.
func TestRevokedLaptopUploadsEvidenceOnly(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	admin := b.Signin(t, "it", api.RoleAdmin)
	lost := &oplogDevice{s: b.Signin(t, "yamada")}
	other := b.Signin(t, "sato")
	anon := b.Client(t)
	lost.upload(t, b.Now(), "app.start", 3)
	id := lost.s.Login.Device.ID

	evidence := func(d *oplogDevice, key ed25519.PrivateKey, typ string, n int) (*api.OplogAck, error) {
		evs := make([]api.OplogEvent, n)
		seq, prev := d.seq, d.prev
		for i := range evs {
			seq++
			link := prev // each event keeps its own copy
			evs[i] = api.OplogEvent{Seq: seq, At: b.Now().Add(time.Duration(i) * time.Millisecond).UnixMilli(), Type: typ, Prev: link[:]}
			prev = evs[i].Hash()
		}
		ack, err := anon.UploadEvidence(ctx, api.OplogBatch{DeviceID: d.s.Login.Device.ID, Events: evs,
			Signature: ed25519.Sign(key, api.OplogBatchDigest(d.s.Login.Device.ID, evs))})
		if err == nil {
			d.seq, d.prev = seq, prev
		}
		return ack, err
	}
	// An active laptop uses its token; the evidence route is closed to it.
	if _, err := evidence(lost, lost.s.Key, "app.evidence", 1); code(err) != api.CodeEvidenceClosed {
		t.Fatalf("evidence from an active laptop: %v, want %s", err, api.CodeEvidenceClosed)
	}

	var rev api.DeviceRevocation
	if err := admin.Do(ctx, "POST", "/admin/v1/devices/"+id+"/revoke", nil, &rev); err != nil {
		t.Fatal(err)
	}
	if rev.Status != api.DeviceRevoked || rev.Timeline != "/admin/v1/oplogs/devices/"+id+"/timeline" ||
		!rev.EvidenceUntil.After(b.Now().Add(80*24*time.Hour)) {
		t.Fatalf("revocation answer %+v", rev)
	}
	if _, err := lost.s.UploadOplog(ctx, api.OplogBatch{DeviceID: id}); code(err) != api.CodeUnauthenticated {
		t.Fatalf("the revoked laptop's token still uploads: %v", err)
	}
	// Another laptop's session is untouched by this one's revocation.
	if _, err := other.MySlot(ctx); code(err) == api.CodeUnauthenticated {
		t.Fatalf("revoking yamada's laptop cut sato: %v", err)
	}

	// Someone without the laptop's key cannot put words in its log.
	_, stranger, _ := ed25519.GenerateKey(nil)
	if _, err := evidence(lost, stranger, "forged", 1); code(err) != api.CodeOplogSignature {
		t.Fatalf("evidence with another key: %v, want %s", err, api.CodeOplogSignature)
	}
	ack, err := evidence(lost, lost.s.Key, "device.revoked_seen", 2)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Stored != 2 || ack.Acked != 5 || ack.Findings != 0 {
		t.Fatalf("evidence ack %+v, want 2 stored up to 5", ack)
	}
	unknown := &oplogDevice{s: &brokertest.Session{Login: &api.LoginResponse{Device: api.Device{ID: "dev_nobody"}}}}
	if _, err := evidence(unknown, lost.s.Key, "x", 1); code(err) != api.CodeEvidenceClosed {
		t.Fatalf("evidence for an unknown device: %v, want %s", err, api.CodeEvidenceClosed)
	}

	var tl api.OplogTimeline
	if err := admin.Do(ctx, "GET", rev.Timeline, nil, &tl); err != nil {
		t.Fatal(err)
	}
	if len(tl.Events) != 5 || tl.Events[4].Type != "device.revoked_seen" || tl.Device.Status != api.DeviceRevoked {
		t.Fatalf("timeline: %d events, device %+v", len(tl.Events), tl.Device)
	}
	for _, typ := range []string{"admin.device_revoked", "oplog.evidence_received"} {
		p, err := admin.SearchOplogs(ctx, api.OplogQuery{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != 1 || p.Events[0].Target != id {
			t.Fatalf("audit %s: %+v", typ, p.Events)
		}
	}

	// The window closes.
	b.Clock.Advance(91 * 24 * time.Hour)
	if _, err := evidence(lost, lost.s.Key, "late", 1); code(err) != api.CodeEvidenceClosed {
		t.Fatalf("evidence after the window: %v, want %s", err, api.CodeEvidenceClosed)
	}
}
