// Package csvexport writes the CSV files IT and HR open in Excel: UTF-8
// with a BOM (Excel reads it as UTF-8 only then), CRLF lines, Japanese
// column headers and JST times by default, English and UTC on request,
// and cells that could start a formula defused.
package csvexport

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// JST is Japan Standard Time (no daylight saving, so a fixed zone needs no
// tz database on the broker's machine).
var JST = time.FixedZone("JST", 9*60*60)

// Options choose the headers' language and the times' zone.
type Options struct {
	English bool
	Zone    *time.Location // JST or UTC
}

// Default is what an export without options gets: Japanese, JST.
var Default = Options{Zone: JST}

// Parse reads the lang ("", "ja", "en") and tz ("", "JST", "Asia/Tokyo",
// "UTC") a request or a command line gives.
func Parse(lang, tz string) (Options, error) {
	o := Default
	switch strings.ToLower(strings.TrimSpace(lang)) {
	case "", "ja", "jp", "japanese":
	case "en", "english":
		o.English = true
	default:
		return o, api.Errf(api.CodeValidation, "lang %q: ja (Japanese headers, the default) or en", lang)
	}
	switch strings.ToUpper(strings.TrimSpace(tz)) {
	case "", "JST", "ASIA/TOKYO", "+09:00":
	case "UTC", "Z", "GMT":
		o.Zone = time.UTC
	default:
		return o, api.Errf(api.CodeValidation, "tz %q: JST (the default) or UTC", tz)
	}
	return o, nil
}

// Column is one column's header in both languages; a time column's
// header also names the zone its times are in.
type Column struct {
	JA, EN string
	Time   bool
}

// Writer writes one export.
type Writer struct {
	o  Options
	bw *bufio.Writer
	cw *csv.Writer
}

// New starts an export on w: the BOM and the header row.
func New(w io.Writer, o Options, cols []Column) (*Writer, error) {
	if o.Zone == nil {
		o.Zone = JST
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("\ufeff"); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	zone := "JST"
	if o.Zone == time.UTC {
		zone = "UTC"
	}
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.JA
		if o.English {
			head[i] = c.EN
		}
		if c.Time {
			head[i] += " (" + zone + ")"
		}
	}
	if err := cw.Write(head); err != nil {
		return nil, err
	}
	return &Writer{o: o, bw: bw, cw: cw}, nil
}

// Options returns the export's options (for values that differ by language).
func (w *Writer) Options() Options { return w.o }

// Write writes one row, defusing each cell.
func (w *Writer) Write(rec []string) error {
	for i, c := range rec {
		rec[i] = Cell(c)
	}
	return w.cw.Write(rec)
}

// Flush writes what is buffered to the underlying writer.
func (w *Writer) Flush() error {
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return err
	}
	return w.bw.Flush()
}

// Time is t in the export's zone, in the form Excel reads as a date
// without help; the zero time is an empty cell.
func (w *Writer) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(w.o.Zone).Format("2006-01-02 15:04:05.000")
}

// TimeMS is Time of Unix milliseconds.
func (w *Writer) TimeMS(ms int64) string { return w.Time(time.UnixMilli(ms)) }

// Cell defuses a value a spreadsheet would run as a formula (values come
// from laptops and people; an export is opened by IT).
func Cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// Label picks ja or en by the options, for values that are words.
func (o Options) Label(ja, en string) string {
	if o.English {
		return en
	}
	return ja
}

// Lang is the options' language as Parse reads it: "ja" or "en".
func (o Options) Lang() string {
	if o.English {
		return "en"
	}
	return "ja"
}

// TZ is the options' zone as Parse reads it: "JST" or "UTC".
func (o Options) TZ() string {
	if o.Zone == time.UTC {
		return "UTC"
	}
	return "JST"
}

// String names the options, for audit records.
func (o Options) String() string { return fmt.Sprintf("%s/%s", o.Lang(), o.TZ()) }
