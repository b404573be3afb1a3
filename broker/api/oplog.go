package api

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"time"
)

// Operation logs: each device keeps an append-only, hash-chained journal
// of what happened on it and uploads it in signed batches; the broker
// keeps its own actions in the same store under device OplogBrokerDevice.

// OplogBrokerDevice is the device ID of server-side (audit) events.
const OplogBrokerDevice = "broker"

// OplogMaxBatch bounds the events in one upload.
const OplogMaxBatch = 2000

// OplogEvent is one event as the device recorded it. Seq counts from 1 per
// device without holes; Prev is the Hash of the event before (32 zero
// bytes for Seq 1), so that an edited, removed or reordered event breaks
// the chain.
type OplogEvent struct {
	Seq    int64             `json:"seq"`
	At     int64             `json:"at"` // Unix milliseconds, device clock
	Type   string            `json:"type"`
	Fields map[string]string `json:"fields,omitempty"`
	Prev   []byte            `json:"prev"`
}

// Hash is the event's chain hash: SHA-256 over a length-prefixed encoding
// of every field, with the fields sorted by key (JSON would not be
// canonical). App and broker both compute it here.
func (e *OplogEvent) Hash() [32]byte {
	h := sha256.New()
	var b [8]byte
	put := func(s []byte) {
		binary.BigEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write(s)
	}
	h.Write([]byte("zaitaku-oplog-event-v1"))
	binary.BigEndian.PutUint64(b[:], uint64(e.Seq))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(e.At))
	h.Write(b[:])
	put([]byte(e.Type))
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	binary.BigEndian.PutUint64(b[:], uint64(len(keys)))
	h.Write(b[:])
	for _, k := range keys {
		put([]byte(k))
		put([]byte(e.Fields[k]))
	}
	put(e.Prev)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// OplogBatch is POST /v1/oplogs: consecutive events of the caller's device,
// signed with the device key over OplogBatchDigest.
type OplogBatch struct {
	DeviceID  string       `json:"device_id"`
	Events    []OplogEvent `json:"events"`
	Signature []byte       `json:"signature"`
}

// OplogBatchDigest is what the device signs: the device ID and the hash of
// every event in order. The event hashes cover every field, so the
// signature covers the whole batch.
func OplogBatchDigest(deviceID string, events []OplogEvent) []byte {
	hashes := make([][32]byte, len(events))
	for i := range events {
		hashes[i] = events[i].Hash()
	}
	return OplogDigestOfHashes(deviceID, hashes)
}

// OplogDigestOfHashes is OplogBatchDigest from event hashes already
// computed (the broker needs them anyway for the chain).
func OplogDigestOfHashes(deviceID string, hashes [][32]byte) []byte {
	h := sha256.New()
	h.Write([]byte("zaitaku-oplog-batch-v1\x00"))
	h.Write([]byte(deviceID))
	h.Write([]byte{0})
	for i := range hashes {
		h.Write(hashes[i][:])
	}
	return h.Sum(nil)
}

// OplogAck answers an upload: the highest sequence the broker has stored
// for the device. The app deletes its journal up to it, never further.
type OplogAck struct {
	DeviceID string `json:"device_id"`
	Acked    int64  `json:"acked"`
	Stored   int    `json:"stored"`     // new rows from this batch
	Dupes    int    `json:"duplicates"` // events already stored (a retry)
	Findings int    `json:"findings"`   // gaps or broken links found in this batch
}

// OplogRecord is a stored event as IT sees it.
type OplogRecord struct {
	ID         int64             `json:"id"`
	DeviceID   string            `json:"device_id"`
	Seq        int64             `json:"seq"`
	At         time.Time         `json:"at"`
	UserID     string            `json:"user_id"`
	Department string            `json:"department,omitempty"`
	Type       string            `json:"type"`
	Target     string            `json:"target,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
	Hash       []byte            `json:"hash"`
	Prev       []byte            `json:"prev"`
	ReceivedAt time.Time         `json:"received_at"`
}

// OplogPage is one page of a search; pass Next as cursor for the next one
// (empty when there is no more).
type OplogPage struct {
	Events []OplogRecord `json:"events"`
	Next   string        `json:"next,omitempty"`
}

// Finding kinds: what the broker noticed in a device's chain.
const (
	FindingGap        = "gap"          // sequence numbers missing (events removed)
	FindingChain      = "chain_broken" // Prev does not match the event before (edited)
	FindingConflict   = "conflict"     // same sequence sent again with other content
	FindingOutOfOrder = "out_of_order" // an event older than the device's newest arrived later (reordered)
)

// OplogFinding is a problem in a device's chain that IT should look at.
type OplogFinding struct {
	ID       int64     `json:"id"`
	DeviceID string    `json:"device_id"`
	UserID   string    `json:"user_id,omitempty"`
	Seq      int64     `json:"seq"`
	Kind     string    `json:"kind"`
	Detail   string    `json:"detail"`
	At       time.Time `json:"at"` // when the broker noticed
}

// OplogFindingList is GET /admin/v1/oplogs/findings.
type OplogFindingList struct {
	Findings []OplogFinding `json:"findings"`
	Next     string         `json:"next,omitempty"`
}

// Hold kinds.
const (
	HoldUser   = "user"
	HoldDevice = "device"
)

// OplogHold stops the retention purge for one user or device (legal hold).
type OplogHold struct {
	Kind      string    `json:"kind"`    // user or device
	Subject   string    `json:"subject"` // staff ID or device ID
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// OplogHoldList is GET /admin/v1/oplogs/holds.
type OplogHoldList struct {
	Holds []OplogHold `json:"holds"`
}

// OplogConfig is the retention setting.
type OplogConfig struct {
	RetentionDays int `json:"retention_days"`
}

// OplogConfigUpdate is PATCH /admin/v1/oplogs/config; Reason is audited.
type OplogConfigUpdate struct {
	RetentionDays *int   `json:"retention_days,omitempty"`
	Reason        string `json:"reason"`
}

// OplogTimeline is one device's history for the lost-laptop case: the
// device, its events in sequence order and its findings.
type OplogTimeline struct {
	Device   Device         `json:"device"`
	Events   []OplogRecord  `json:"events"`
	Findings []OplogFinding `json:"findings"`
	Next     string         `json:"next,omitempty"`
}
