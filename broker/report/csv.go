package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// bom makes Excel read the file as UTF-8 when opened by double-click.
const bom = "\ufeff"

// AllDepartments is how CSV names the row of every department.
const AllDepartments = "全体"

var usageHeader = []string{"期間", "開始日", "所属", "最大同時接続数", "最大の時刻", "接続時間(時間)",
	"接続要求数", "セッション数", "利用者数", "1人あたりセッション数", "待機した要求数", "平均待ち時間(分)",
	"最長待ち時間(分)", "待機中に取りやめた要求数", "取りやめまでの待ち時間計(分)"}

// WriteUsageCSV writes the report as CSV with Japanese headers, UTF-8
// with a BOM and CRLF lines (Excel opens it as is); it returns the rows.
func WriteUsageCSV(w io.Writer, rep api.UsageReport) (int, error) {
	if _, err := io.WriteString(w, bom); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(usageHeader); err != nil {
		return 0, err
	}
	for _, r := range rep.Rows {
		dept := r.Department
		if dept == "" {
			dept = AllDepartments
		}
		peakAt := ""
		if !r.PeakAt.IsZero() {
			peakAt = r.PeakAt.In(JST).Format("2006-01-02 15:04")
		}
		if err := cw.Write([]string{r.Label, r.Start.In(JST).Format(time.DateOnly), cell(dept),
			strconv.Itoa(r.PeakConcurrent), peakAt, fixed(r.HoursConnected), strconv.Itoa(r.Requests),
			strconv.Itoa(r.Sessions), strconv.Itoa(r.People), fixed(r.SessionsPerPerson), strconv.Itoa(r.Queued),
			fixed(r.WaitMeanSeconds / 60), fixed(float64(r.WaitMaxSeconds) / 60), strconv.Itoa(r.GaveUp),
			fixed(float64(r.GaveUpWaitSeconds) / 60)}); err != nil {
			return 0, err
		}
	}
	cw.Flush()
	return len(rep.Rows), cw.Error()
}

var whatIfHeader = []string{"日付", "接続要求数", "待機する要求数", "待ち時間計(分)", "平均待ち時間(分)", "最長待ち時間(分)"}

// WriteWhatIfCSV writes the replay per day, then its total and the
// recorded outcome under the real cap, as WriteUsageCSV does.
func WriteWhatIfCSV(w io.Writer, rep api.WhatIfReport) (int, error) {
	if _, err := io.WriteString(w, bom); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(append([]string{"上限"}, whatIfHeader...)); err != nil {
		return 0, err
	}
	line := func(capLabel string, d api.WhatIfDay) error {
		return cw.Write([]string{capLabel, d.Label, strconv.Itoa(d.Requests), strconv.Itoa(d.Queued),
			fixed(float64(d.WaitTotalSeconds) / 60), fixed(d.WaitMeanSeconds / 60), fixed(float64(d.WaitMaxSeconds) / 60)})
	}
	capN := strconv.Itoa(rep.Cap)
	for _, d := range rep.Days {
		if err := line(capN, d); err != nil {
			return 0, err
		}
	}
	total := api.WhatIfDay{Label: "合計", Requests: rep.Replayed, Queued: rep.Queued, WaitTotalSeconds: rep.WaitTotalSeconds,
		WaitMeanSeconds: rep.WaitMeanSeconds, WaitMaxSeconds: rep.WaitMaxSeconds}
	rec := rep.Recorded
	rec.Label = "記録(実際の上限)"
	for _, l := range []struct {
		c string
		d api.WhatIfDay
	}{{capN, total}, {"実績", rec}} {
		if err := line(l.c, l.d); err != nil {
			return 0, err
		}
	}
	cw.Flush()
	return len(rep.Days), cw.Error()
}

// cell defuses a department name a spreadsheet would run as a formula:
// names come from the roster, and the file is opened by IT.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func fixed(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
