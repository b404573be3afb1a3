package api

import (
	"context"
	"net/url"
	"strconv"
)

// ReportQuery is what a usage report covers, as the routes take it:
// Period day, week or month; From and To as 2027-04-01 (JST) or RFC 3339,
// To exclusive; empty values take the broker's defaults.
type ReportQuery struct {
	Period, From, To, Department string
}

func (q ReportQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"period": q.Period, "from": q.From, "to": q.To, "department": q.Department} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// UsageReport returns the usage report (admin, auditor).
func (c *Client) UsageReport(ctx context.Context, q ReportQuery) (*UsageReport, error) {
	var out UsageReport
	return &out, c.Do(ctx, "GET", withQuery("/admin/v1/reports/usage", q.values()), nil, &out)
}

// WhatIf replays the recorded demand of q's range against capN (admin, auditor).
func (c *Client) WhatIf(ctx context.Context, q ReportQuery, capN int) (*WhatIfReport, error) {
	v := q.values()
	v.Del("period")
	v.Set("cap", strconv.Itoa(capN))
	var out WhatIfReport
	return &out, c.Do(ctx, "GET", withQuery("/admin/v1/reports/what-if", v), nil, &out)
}
