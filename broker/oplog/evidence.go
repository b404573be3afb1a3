// A revoked laptop's journal is the evidence of what happened to it, so
// the broker still takes it after the laptop's tokens are gone: the batch
// is signed with the device key like any other and stored the same way,
// but only from a revoked device and only for EvidenceWindow after the
// revocation. Nothing else is open to such a device.

package oplog

import (
	"context"
	"errors"
	"strconv"

	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// EvidenceWindow is how long after its revocation a laptop may upload its
// journal: long enough for one left in a drawer to be switched on again.
const EvidenceWindow = 90 * 24 * time.Hour

// ErrDeviceNotFound is what a Directory wraps for an unknown device.
var ErrDeviceNotFound = errors.New("device not found")

// IngestEvidence stores a batch from a revoked laptop, verified by its
// device key alone, and audits its arrival.
func (s *Service) IngestEvidence(ctx context.Context, b api.OplogBatch) (api.OplogAck, error) {
	if b.DeviceID == "" || b.DeviceID == api.OplogBrokerDevice {
		return api.OplogAck{}, api.Err(api.CodeOplogBatch, "device_id: the revoked laptop's device ID")
	}
	dev, err := s.dir.DeviceInfo(ctx, b.DeviceID)
	if errors.Is(err, ErrDeviceNotFound) {
		// An unknown device is answered as a closed one: the route tells
		// nobody which IDs exist.
		return api.OplogAck{}, api.Err(api.CodeEvidenceClosed)
	} else if err != nil {
		return api.OplogAck{}, err
	}
	if dev.Status != api.DeviceRevoked || s.now().Sub(dev.RevokedAt) > EvidenceWindow {
		return api.OplogAck{}, api.Err(api.CodeEvidenceClosed)
	}
	ack, err := s.Ingest(ctx, b.DeviceID, b)
	if err != nil {
		return ack, err
	}
	if ack.Stored > 0 || ack.Findings > 0 {
		err = s.Record(ctx, audit.Event{At: s.now(), Actor: dev.UserID, Action: "oplog.evidence_received", Target: b.DeviceID,
			Fields: map[string]string{"stored": strconv.Itoa(ack.Stored), "findings": strconv.Itoa(ack.Findings),
				"acked": strconv.FormatInt(ack.Acked, 10)}})
	}
	return ack, err
}
