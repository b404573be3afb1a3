package api

import (
	"context"
	"net/url"
)

// RosterDryRun reports what a roster would change, line by line, and
// changes nothing (IT, a department's IT contact).
func (c *Client) RosterDryRun(ctx context.Context, req RosterImportRequest) (*RosterReport, error) {
	var out RosterReport
	return &out, c.Do(ctx, "POST", "/admin/v1/roster/dry-run", req, &out)
}

// RosterImport loads a roster: applied now, or pending until its
// effective date.
func (c *Client) RosterImport(ctx context.Context, req RosterImportRequest) (*RosterImport, error) {
	var out RosterImport
	return &out, c.Do(ctx, "POST", "/admin/v1/roster/imports", req, &out)
}

// RosterImports lists roster imports, newest first.
func (c *Client) RosterImports(ctx context.Context) (*RosterImportList, error) {
	var out RosterImportList
	return &out, c.Do(ctx, "GET", "/admin/v1/roster/imports", nil, &out)
}

// RosterImportByID returns one roster import with its report.
func (c *Client) RosterImportByID(ctx context.Context, id string) (*RosterImport, error) {
	var out RosterImport
	return &out, c.Do(ctx, "GET", "/admin/v1/roster/imports/"+url.PathEscape(id), nil, &out)
}

// CancelRosterImport withdraws a pending roster import.
func (c *Client) CancelRosterImport(ctx context.Context, id string) (*RosterImport, error) {
	var out RosterImport
	return &out, c.Do(ctx, "DELETE", "/admin/v1/roster/imports/"+url.PathEscape(id), nil, &out)
}
