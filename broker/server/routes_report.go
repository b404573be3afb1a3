package server

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/report"
)

// reportRoutes are the usage reports: central IT's and auditors' reads
// (the budget is the city's, not a department's).
func (s *Server) reportRoutes() []route {
	A := api.RoleAdmin
	q := map[string]string{"period": "day (default), week or month (JST)", "from": "2027-04-01 (JST) or RFC 3339",
		"to": "exclusive; default the start of tomorrow (JST)", "department": "one department only"}
	wq := map[string]string{"cap": "the cap to replay against", "from": q["from"], "to": q["to"], "department": q["department"]}
	return []route{
		{method: "GET", path: "/admin/v1/reports/usage", role: A, also: readers, handle: s.usageReport, out: api.UsageReport{}, query: q,
			summary: "Per day, week or month and department: peak concurrency, hours connected, requests queued and their waits, requests given up, sessions per person."},
		{method: "GET", path: "/admin/v1/reports/usage.csv", role: A, also: readers, handle: s.usageCSV, query: q,
			summary: "The usage report as CSV with Japanese headers (UTF-8 with BOM, opens in Excel as is)."},
		{method: "GET", path: "/admin/v1/reports/what-if", role: A, also: readers, handle: s.whatIf, out: api.WhatIfReport{}, query: wq,
			summary: "What if the cap were N: the recorded demand replayed first come, first served against another cap; how many would have queued and for how long."},
		{method: "GET", path: "/admin/v1/reports/what-if.csv", role: A, also: readers, handle: s.whatIfCSV, query: wq,
			summary: "The what-if replay per day as CSV with Japanese headers (UTF-8 with BOM)."},
	}
}

func (c *call) reportQuery() (report.Query, error) {
	v := c.R.URL.Query()
	return report.ParseQuery(v.Get("period"), v.Get("from"), v.Get("to"), v.Get("department"), c.s.now())
}

func (s *Server) usageReport(c *call) (any, error) {
	q, err := c.reportQuery()
	if err != nil {
		return nil, err
	}
	return s.reps.Usage(c.R.Context(), q)
}

func (s *Server) usageCSV(c *call) (any, error) {
	q, err := c.reportQuery()
	if err != nil {
		return nil, err
	}
	rep, err := s.reps.Usage(c.R.Context(), q)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := report.WriteUsageCSV(&b, rep); err != nil {
		return nil, err
	}
	s.writeCSV(c, "usage-"+q.Period, b.Bytes())
	return nil, nil
}

func (c *call) whatIfQuery() (report.Query, int, error) {
	q, err := c.reportQuery()
	if err != nil {
		return q, 0, err
	}
	n, err := strconv.Atoi(c.R.URL.Query().Get("cap"))
	if err != nil {
		return q, 0, api.Errf(api.CodeValidation, "cap: the number of sessions to replay against, e.g. cap=200")
	}
	return q, n, nil
}

func (s *Server) whatIf(c *call) (any, error) {
	q, n, err := c.whatIfQuery()
	if err != nil {
		return nil, err
	}
	return s.reps.WhatIf(c.R.Context(), q, n)
}

func (s *Server) whatIfCSV(c *call) (any, error) {
	q, n, err := c.whatIfQuery()
	if err != nil {
		return nil, err
	}
	rep, err := s.reps.WhatIf(c.R.Context(), q, n)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := report.WriteWhatIfCSV(&b, rep); err != nil {
		return nil, err
	}
	s.writeCSV(c, fmt.Sprintf("what-if-cap%d", n), b.Bytes())
	return nil, nil
}

// writeCSV answers a report's CSV, made in memory first so that a
// failure is still an error reply and never a cut file.
func (s *Server) writeCSV(c *call, name string, body []byte) {
	h := c.W.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, name, s.now().In(jst).Format("20060102-150405")))
	c.W.WriteHeader(200)
	_, _ = c.W.Write(body)
}
