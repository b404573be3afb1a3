package api

import (
	"context"
	"io"
	"net/url"
)

// RequestTelework asks for telework on dates or for a fiscal year.
func (c *Client) RequestTelework(ctx context.Context, req TeleworkRequestCreate) (*TeleworkRequest, error) {
	var out TeleworkRequest
	return &out, c.Do(ctx, "POST", "/v1/telework/requests", req, &out)
}

// MyTeleworkRequests lists the caller's recent and coming requests.
func (c *Client) MyTeleworkRequests(ctx context.Context) (*TeleworkRequestList, error) {
	var out TeleworkRequestList
	return &out, c.Do(ctx, "GET", "/v1/telework/requests", nil, &out)
}

// WithdrawTelework withdraws one's own request until it starts.
func (c *Client) WithdrawTelework(ctx context.Context, id string) (*TeleworkRequest, error) {
	var out TeleworkRequest
	return &out, c.Do(ctx, "POST", "/v1/telework/requests/"+url.PathEscape(id)+"/withdraw", nil, &out)
}

// DecideTelework approves or declines a request of the caller's section.
func (c *Client) DecideTelework(ctx context.Context, id string, d TeleworkDecision) (*TeleworkRequest, error) {
	var out TeleworkRequest
	return &out, c.Do(ctx, "POST", "/v1/telework/requests/"+url.PathEscape(id)+"/decision", d, &out)
}

// TeleworkApprovals lists the requests waiting for the caller's decision
// in a section (department "": the caller's own).
func (c *Client) TeleworkApprovals(ctx context.Context, department string) (*TeleworkRequestList, error) {
	var out TeleworkRequestList
	v := url.Values{}
	if department != "" {
		v.Set("department", department)
	}
	return &out, c.Do(ctx, "GET", withQuery("/v1/telework/approvals", v), nil, &out)
}

// SetTeleworkStandIn names who decides in the caller's place (代理承認).
func (c *Client) SetTeleworkStandIn(ctx context.Context, req TeleworkStandIn) (*TeleworkStandIn, error) {
	var out TeleworkStandIn
	return &out, c.Do(ctx, "PUT", "/v1/telework/stand-in", req, &out)
}

// StartWork records the start of work and where.
func (c *Client) StartWork(ctx context.Context, place string) (*WorkDay, error) {
	var out WorkDay
	return &out, c.Do(ctx, "POST", "/v1/telework/work/start", TeleworkWorkStart{Place: place}, &out)
}

// EndWork records the end of work.
func (c *Client) EndWork(ctx context.Context) (*WorkDay, error) {
	var out WorkDay
	return &out, c.Do(ctx, "POST", "/v1/telework/work/end", nil, &out)
}

// TeleworkToday returns the caller's day.
func (c *Client) TeleworkToday(ctx context.Context) (*TeleworkToday, error) {
	var out TeleworkToday
	return &out, c.Do(ctx, "GET", "/v1/telework/today", nil, &out)
}

// TeleworkSection returns the supervisor's view of a section today
// (department "": the caller's own).
func (c *Client) TeleworkSection(ctx context.Context, department string) (*TeleworkSection, error) {
	var out TeleworkSection
	v := url.Values{}
	if department != "" {
		v.Set("department", department)
	}
	return &out, c.Do(ctx, "GET", withQuery("/v1/telework/section", v), nil, &out)
}

// TeleworkHolidays lists the days off between two dates.
func (c *Client) TeleworkHolidays(ctx context.Context, from, to string) (*HolidayList, error) {
	var out HolidayList
	v := url.Values{}
	if from != "" {
		v.Set("from", from)
	}
	if to != "" {
		v.Set("to", to)
	}
	return &out, c.Do(ctx, "GET", withQuery("/v1/telework/holidays", v), nil, &out)
}

// TeleworkPolicies lists the departments' policies (admin).
func (c *Client) TeleworkPolicies(ctx context.Context) (*TeleworkPolicyList, error) {
	var out TeleworkPolicyList
	return &out, c.Do(ctx, "GET", "/admin/v1/telework/policies", nil, &out)
}

// SetTeleworkPolicy sets a department's policy (admin).
func (c *Client) SetTeleworkPolicy(ctx context.Context, p TeleworkPolicy) (*TeleworkPolicy, error) {
	var out TeleworkPolicy
	return &out, c.Do(ctx, "PUT", "/admin/v1/telework/policies/"+url.PathEscape(p.Department), p, &out)
}

// PutHoliday adds or renames a day off (admin).
func (c *Client) PutHoliday(ctx context.Context, h Holiday) (*Holiday, error) {
	var out Holiday
	return &out, c.Do(ctx, "PUT", "/admin/v1/telework/holidays/"+url.PathEscape(h.Date), h, &out)
}

// DeleteHoliday removes a day off (admin).
func (c *Client) DeleteHoliday(ctx context.Context, date string) error {
	return c.Do(ctx, "DELETE", "/admin/v1/telework/holidays/"+url.PathEscape(date), nil, nil)
}

// SetTeleworkApprovers names a department's approvers (admin).
func (c *Client) SetTeleworkApprovers(ctx context.Context, dept string, users []string) (*TeleworkApprovers, error) {
	var out TeleworkApprovers
	return &out, c.Do(ctx, "PUT", "/admin/v1/telework/approvers/"+url.PathEscape(dept), TeleworkApprovers{Users: users}, &out)
}

// ExportTelework streams HR's working-time CSV to w (admin).
func (c *Client) ExportTelework(ctx context.Context, q TeleworkExportQuery, w io.Writer) error {
	v := url.Values{"from": {q.From}, "to": {q.To}}
	if q.Department != "" {
		v.Set("department", q.Department)
	}
	return c.Do(ctx, "GET", withQuery("/admin/v1/telework/export", v), nil, w)
}
