// Package font finds the OS's bold Japanese font, for the app's theme:
// Fyne's bundled bold face has no CJK glyphs, so without it bold labels
// fall back to the regular Japanese face and headings like 総務課-01 come
// out half bold. Each OS the app ships for has one (Windows: Yu Gothic,
// Meiryo; macOS: Hiragino Sans; Debian: fonts-noto-cjk), so nothing is
// bundled: the app stays small and uses the face the OS renders
// Japanese with.
package font

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// ErrNotFound: the OS has no bold Japanese font where we look.
var ErrNotFound = errors.New("no bold japanese font found")

// JapaneseBold returns one bold Japanese font as a standalone OpenType
// file (taken out of a collection when the OS ships one).
func JapaneseBold() ([]byte, error) {
	for _, c := range candidates() {
		data, err := os.ReadFile(c.path)
		if err != nil {
			continue
		}
		if out, err := Single(data, c.index); err == nil {
			return out, nil
		}
	}
	return nil, ErrNotFound
}

// candidate is a font file and the face in it.
type candidate struct {
	path  string
	index int
}

// Single returns face index of an OpenType collection (.ttc) as a file of
// its own; a file that is not a collection comes back as it is (index 0).
// Fyne's parser reads single fonts only.
func Single(data []byte, index int) ([]byte, error) {
	if len(data) < 12 {
		return nil, errors.New("font: too short")
	}
	if string(data[:4]) != "ttcf" {
		if index != 0 {
			return nil, fmt.Errorf("font: face %d of a single font", index)
		}
		return data, nil
	}
	n := int(binary.BigEndian.Uint32(data[8:12]))
	if index < 0 || index >= n || len(data) < 12+4*n {
		return nil, fmt.Errorf("font: face %d of %d", index, n)
	}
	off := int(binary.BigEndian.Uint32(data[12+4*index:]))
	if off+12 > len(data) {
		return nil, errors.New("font: bad offset")
	}
	numTables := int(binary.BigEndian.Uint16(data[off+4:]))
	dir := off + 12
	if dir+16*numTables > len(data) {
		return nil, errors.New("font: bad table directory")
	}
	// The new file: the offset table, the table records, then each table
	// (4-byte aligned) with its offset rewritten; offsets in a collection
	// count from the start of the collection.
	head := 12 + 16*numTables
	size := head
	for i := range numTables {
		rec := data[dir+16*i:]
		length := int(binary.BigEndian.Uint32(rec[12:]))
		size += (length + 3) &^ 3
	}
	out := make([]byte, head, size)
	copy(out, data[off:off+12])
	for i := range numTables {
		rec := data[dir+16*i : dir+16*i+16]
		tOff := int(binary.BigEndian.Uint32(rec[8:]))
		length := int(binary.BigEndian.Uint32(rec[12:]))
		if tOff < 0 || length < 0 || tOff+length > len(data) {
			return nil, errors.New("font: table out of range")
		}
		r := out[12+16*i : 12+16*i+16]
		copy(r, rec)
		binary.BigEndian.PutUint32(r[8:], uint32(len(out)))
		out = append(out, data[tOff:tOff+length]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}
