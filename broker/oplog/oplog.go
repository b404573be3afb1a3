// Package oplog stores operation logs: devices' hash-chained event
// journals, uploaded in signed batches and stored idempotently, and the
// broker's own audit events in the same store (device "broker"). It flags
// gaps and broken chains as findings, answers IT's searches and exports,
// and purges events past the retention period unless a legal hold
// covers them.
package oplog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Sentinel errors of the store.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Row is an event as stored.
type Row struct {
	ID         int64
	DeviceID   string
	Seq        int64
	At         int64 // unix ms
	UserID     string
	Department string
	Type       string
	Target     string
	Fields     string // JSON object, "" when none
	Prev, Hash []byte
	ReceivedAt int64
}

// Tip is the newest link of a device's chain the broker holds.
type Tip struct {
	Seq  int64
	Hash []byte
}

// Tx is what ingest does inside one write transaction.
type Tx interface {
	Tip(ctx context.Context, deviceID string) (Tip, error) // zero Tip when none
	// StoredHash returns the hash stored for (device, seq), or nil.
	StoredHash(ctx context.Context, deviceID string, seq int64) ([]byte, error)
	// Insert adds rows, skipping any (device, seq) already stored, and
	// returns how many were new.
	Insert(ctx context.Context, rows []Row) (int, error)
	AddFindings(ctx context.Context, fs []api.OplogFinding) error
	SetTip(ctx context.Context, deviceID string, t Tip, at int64) error
}

// Store is what the operation log needs from the database.
type Store interface {
	// InTx runs fn in one write transaction (serialized with every other
	// writer, also across processes), committing when fn returns nil.
	InTx(ctx context.Context, fn func(Tx) error) error
	Search(ctx context.Context, q Query) ([]Row, error)
	Findings(ctx context.Context, deviceID string, afterID int64, limit int) ([]api.OplogFinding, error)
	Holds(ctx context.Context) ([]api.OplogHold, error)
	PutHold(ctx context.Context, h api.OplogHold) error                // ErrConflict
	DeleteHold(ctx context.Context, kind, subject string) error        // ErrNotFound
	Purge(ctx context.Context, before int64, limit int) (int64, error) // skips held users and devices
	GetSetting(ctx context.Context, key string) (string, error)        // ErrNotFound
	PutSetting(ctx context.Context, key, value string, at int64) error
}

// DeviceInfo is what ingest needs to know about the uploading device.
type DeviceInfo struct {
	PublicKey  []byte
	UserID     string
	Department string
	// Status and RevokedAt decide whether a revoked laptop may still
	// upload its journal (IngestEvidence).
	Status    string
	RevokedAt time.Time
}

// Directory finds a device's key and owner (the auth store).
type Directory interface {
	DeviceInfo(ctx context.Context, deviceID string) (DeviceInfo, error)
}

// Config builds a Service.
type Config struct {
	Store     Store
	Directory Directory
	Log       *slog.Logger
	Now       func() time.Time
}

// Service is the operation-log domain. It also implements
// audit.Recorder (see audit.go).
type Service struct {
	st  Store
	dir Directory
	log *slog.Logger
	now func() time.Time
	aw  auditWriter
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Directory == nil {
		return nil, errors.New("oplog: store and directory are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{st: cfg.Store, dir: cfg.Directory, log: cfg.Log, now: cfg.Now}
	s.aw.s = s
	return s, nil
}

var zeroHash = make([]byte, 32)

// Limits on what a device may send.
const (
	maxType       = 64
	maxFields     = 32
	maxFieldKey   = 64
	maxFieldValue = 1024
)

// checkShape refuses a batch that cannot be stored faithfully. Chain
// problems are not refused: they are stored and flagged, because refusing
// would keep the evidence on the laptop.
func checkShape(b *api.OplogBatch) error {
	if len(b.Events) == 0 {
		return nil
	}
	if len(b.Events) > api.OplogMaxBatch {
		return api.Errf(api.CodeOplogBatch, "at most %d events per batch", api.OplogMaxBatch)
	}
	for i := range b.Events {
		e := &b.Events[i]
		switch {
		case e.Seq < 1:
			return api.Errf(api.CodeOplogBatch, "events[%d].seq: must be >= 1", i)
		case e.Type == "" || len(e.Type) > maxType:
			return api.Errf(api.CodeOplogBatch, "events[%d].type: 1 to %d bytes", i, maxType)
		case len(e.Prev) != 32:
			return api.Errf(api.CodeOplogBatch, "events[%d].prev: want 32 bytes", i)
		case len(e.Fields) > maxFields:
			return api.Errf(api.CodeOplogBatch, "events[%d].fields: at most %d", i, maxFields)
		case e.At <= 0:
			return api.Errf(api.CodeOplogBatch, "events[%d].at: want unix milliseconds", i)
		}
		for k, v := range e.Fields {
			if k == "" || len(k) > maxFieldKey || len(v) > maxFieldValue {
				return api.Errf(api.CodeOplogBatch, "events[%d].fields[%q]: key 1 to %d bytes, value at most %d", i, k, maxFieldKey, maxFieldValue)
			}
		}
	}
	return nil
}

// Ingest verifies and stores a batch uploaded by callerDevice. The batch
// must name the caller's device and carry a valid signature by that
// device's key; then every event is stored once (a retried batch adds
// nothing), and gaps, broken links, conflicts and reordering become
// findings. The answer acknowledges the highest stored sequence.
func (s *Service) Ingest(ctx context.Context, callerDevice string, b api.OplogBatch) (api.OplogAck, error) {
	if b.DeviceID == "" {
		return api.OplogAck{}, api.Err(api.CodeOplogBatch, "device_id: required")
	}
	if b.DeviceID != callerDevice || callerDevice == api.OplogBrokerDevice {
		return api.OplogAck{}, api.Errf(api.CodeOplogDeviceMismatch, "batch names device %q", b.DeviceID)
	}
	if err := checkShape(&b); err != nil {
		return api.OplogAck{}, err
	}
	dev, err := s.dir.DeviceInfo(ctx, callerDevice)
	if err != nil {
		return api.OplogAck{}, fmt.Errorf("device %s: %w", callerDevice, err)
	}
	hashes := make([][32]byte, len(b.Events))
	for i := range b.Events {
		hashes[i] = b.Events[i].Hash()
	}
	if len(dev.PublicKey) != ed25519.PublicKeySize ||
		!ed25519.Verify(dev.PublicKey, api.OplogDigestOfHashes(b.DeviceID, hashes), b.Signature) {
		return api.OplogAck{}, api.Err(api.CodeOplogSignature)
	}
	now := s.now().UnixMilli()
	rows := make([]Row, len(b.Events))
	for i := range b.Events {
		e := &b.Events[i]
		fields := ""
		if len(e.Fields) > 0 {
			fb, _ := json.Marshal(e.Fields)
			fields = string(fb)
		}
		rows[i] = Row{DeviceID: b.DeviceID, Seq: e.Seq, At: e.At, UserID: dev.UserID, Department: dev.Department,
			Type: e.Type, Target: e.Fields["target"], Fields: fields, Prev: e.Prev, Hash: hashes[i][:], ReceivedAt: now}
	}
	ack := api.OplogAck{DeviceID: b.DeviceID}
	err = s.st.InTx(ctx, func(tx Tx) error {
		ack.Stored, ack.Dupes, ack.Findings = 0, 0, 0
		tip, err := tx.Tip(ctx, b.DeviceID)
		if err != nil {
			return err
		}
		var findings []api.OplogFinding
		flag := func(seq int64, kind, detail string) {
			findings = append(findings, api.OplogFinding{DeviceID: b.DeviceID, UserID: dev.UserID, Seq: seq, Kind: kind,
				Detail: detail, At: time.UnixMilli(now).UTC()})
		}
		fresh := rows[:0:0]
		pending := map[int64][]byte{} // this batch's new events, not yet inserted
		for i := range rows {
			r := rows[i]
			switch {
			case r.Seq <= tip.Seq:
				// A retry, a conflicting copy, or an event arriving after a
				// newer one (reordered).
				stored, ok := pending[r.Seq]
				if !ok {
					if stored, err = tx.StoredHash(ctx, r.DeviceID, r.Seq); err != nil {
						return err
					}
				}
				switch {
				case stored == nil:
					flag(r.Seq, api.FindingOutOfOrder, fmt.Sprintf("event %d arrived after event %d", r.Seq, tip.Seq))
					fresh = append(fresh, r)
					pending[r.Seq] = r.Hash
				case bytes.Equal(stored, r.Hash):
					ack.Dupes++
				default:
					flag(r.Seq, api.FindingConflict, fmt.Sprintf("event %d sent again with other content (stored hash %s, new hash %s; new copy: %s %s)",
						r.Seq, short(stored), short(r.Hash), r.Type, r.Fields))
				}
				continue
			case r.Seq > tip.Seq+1:
				flag(tip.Seq+1, api.FindingGap, fmt.Sprintf("events %d to %d are missing", tip.Seq+1, r.Seq-1))
			default: // the next link
				want := tip.Hash
				if tip.Seq == 0 {
					want = zeroHash
				}
				if !bytes.Equal(r.Prev, want) {
					flag(r.Seq, api.FindingChain, fmt.Sprintf("event %d does not follow event %d (prev %s, want %s): an event was edited or replaced",
						r.Seq, tip.Seq, short(r.Prev), short(want)))
				}
			}
			fresh = append(fresh, r)
			pending[r.Seq] = r.Hash
			tip = Tip{Seq: r.Seq, Hash: r.Hash}
		}
		n, err := tx.Insert(ctx, fresh)
		if err != nil {
			return err
		}
		ack.Stored = n
		ack.Dupes += len(fresh) - n
		if err := tx.AddFindings(ctx, findings); err != nil {
			return err
		}
		ack.Findings = len(findings)
		ack.Acked = tip.Seq
		if len(fresh) > 0 {
			return tx.SetTip(ctx, b.DeviceID, tip, now)
		}
		return nil
	})
	if err != nil {
		return api.OplogAck{}, fmt.Errorf("store oplog batch: %w", err)
	}
	if ack.Findings > 0 {
		s.log.Warn("oplog findings", "device", b.DeviceID, "user", dev.UserID, "count", ack.Findings)
	}
	return ack, nil
}

func short(h []byte) string {
	if len(h) > 6 {
		h = h[:6]
	}
	return hex.EncodeToString(h)
}
