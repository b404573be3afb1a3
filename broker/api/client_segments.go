package api

import (
	"context"
	"net/url"
)

// SetSegment puts an office PC in a network segment (IT).
func (c *Client) SetSegment(ctx context.Context, terminalID string, req SetSegmentRequest) (*Terminal, error) {
	var out Terminal
	if err := c.Do(ctx, "PUT", "/admin/v1/segments/terminals/"+url.PathEscape(terminalID), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SatelliteOffices lists the satellite offices (IT, auditors).
func (c *Client) SatelliteOffices(ctx context.Context) ([]SatelliteOffice, error) {
	var out SatelliteOfficeList
	if err := c.Do(ctx, "GET", "/admin/v1/segments/satellite-offices", nil, &out); err != nil {
		return nil, err
	}
	return out.Offices, nil
}

// PutSatelliteOffice creates or replaces a satellite office (IT).
func (c *Client) PutSatelliteOffice(ctx context.Context, id string, req PutSatelliteOfficeRequest) (*SatelliteOffice, error) {
	var out SatelliteOffice
	if err := c.Do(ctx, "PUT", "/admin/v1/segments/satellite-offices/"+url.PathEscape(id), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSatelliteOffice removes a satellite office (IT).
func (c *Client) DeleteSatelliteOffice(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", "/admin/v1/segments/satellite-offices/"+url.PathEscape(id), nil, nil)
}
