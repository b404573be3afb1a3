package oplog

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
)

// On disk a journal is a directory of segment files, each a run of
// frames: 4 bytes payload length, 4 bytes CRC-32C of the payload, then the
// event as JSON. A frame is written with one write call and the file is
// opened O_APPEND, so a crash can leave at most one incomplete frame, at
// the end of the newest segment; Open cuts it off. A bad frame anywhere
// else is damage (or tampering) and is reported, never cut.

const (
	frameHeader = 8
	maxFrame    = 64 << 10
	segPrefix   = "seg-"
	segSuffix   = ".log"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func encodeFrame(ev *api.OplogEvent) ([]byte, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if len(payload) > maxFrame {
		return nil, fmt.Errorf("event %s: %d bytes, at most %d", ev.Type, len(payload), maxFrame)
	}
	b := make([]byte, frameHeader+len(payload))
	binary.BigEndian.PutUint32(b[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[4:8], crc32.Checksum(payload, crcTable))
	copy(b[frameHeader:], payload)
	return b, nil
}

// Segment files are named seg-<serial>-<first seq>.log; the serial
// (creation order) is the order of the events, even when a damaged
// segment and its successor start at the same sequence.
func segName(serial, firstSeq int64) string {
	return fmt.Sprintf("%s%010d-%020d%s", segPrefix, serial, firstSeq, segSuffix)
}

func segSerial(path string) int64 {
	n := strings.TrimPrefix(filepath.Base(path), segPrefix)
	a, _, ok := strings.Cut(n, "-")
	if !ok {
		return -1
	}
	v, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// listSegments returns the segment files in creation order.
func listSegments(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, segPrefix) && strings.HasSuffix(n, segSuffix) && segSerial(n) >= 0 {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Slice(out, func(i, j int) bool { return segSerial(out[i]) < segSerial(out[j]) })
	return out, nil
}

// scanResult is what reading one segment found.
type scanResult struct {
	events []api.OplogEvent
	good   int64 // offset after the last good frame
	// torn: the data after good is an incomplete last frame (a crash
	// mid-write). bad: frames that are damaged but followed by more data.
	torn bool
	bad  []string
}

// scanSegment reads the frames of a segment up to limit bytes (-1: all).
func scanSegment(path string, limit int64) (scanResult, error) {
	var res scanResult
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return res, err
	}
	off := int64(0)
	n := int64(len(data))
	for off < n {
		if n-off < frameHeader {
			res.torn = true
			return res, nil
		}
		size := int64(binary.BigEndian.Uint32(data[off : off+4]))
		sum := binary.BigEndian.Uint32(data[off+4 : off+8])
		if size == 0 || size > maxFrame {
			// A torn write leaves a prefix of a good frame, so its length
			// is sane; only a power loss can leave zeros instead.
			if allZero(data[off:]) {
				res.torn = true
				return res, nil
			}
			res.bad = append(res.bad, fmt.Sprintf("%s: unreadable from byte %d (bad frame length %d)", filepath.Base(path), off, size))
			return res, nil
		}
		end := off + frameHeader + size
		if end > n {
			res.torn = true
			return res, nil
		}
		payload := data[off+frameHeader : end]
		var ev api.OplogEvent
		if crc32.Checksum(payload, crcTable) != sum || json.Unmarshal(payload, &ev) != nil {
			if end == n {
				// The last frame of the file: a torn write of the same length.
				res.torn = true
				return res, nil
			}
			res.bad = append(res.bad, fmt.Sprintf("%s: damaged frame at byte %d", filepath.Base(path), off))
			off = end
			res.good = off
			continue
		}
		res.events = append(res.events, ev)
		off = end
		res.good = off
	}
	return res, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
