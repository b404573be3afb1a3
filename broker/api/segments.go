package api

import "time"

// Network segments of an office PC (三層分離): which of the three
// separated networks it sits on.
const (
	SegmentLGWAN    = "lgwan"    // LGWAN-connected (LGWAN接続系), the default
	SegmentMyNumber = "mynumber" // My Number work (個人番号利用事務系): never from home
	SegmentInternet = "internet" // internet-connected (インターネット接続系)
)

// Segments are the segments in the order IT sees them.
var Segments = []string{SegmentLGWAN, SegmentMyNumber, SegmentInternet}

// SetSegmentRequest is PUT /admin/v1/terminals/{id}/segment. A reason is
// required: moving a PC out of the My Number segment relaxes a rule.
type SetSegmentRequest struct {
	Segment string `json:"segment"`
	Reason  string `json:"reason"`
}

// SatelliteOffice is a place IT lets My Number PCs be used from (a
// サテライトオフィス), named by the source address ranges its traffic
// reaches the broker from.
type SatelliteOffice struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Ranges    []string  `json:"ranges"` // CIDR prefixes, e.g. 192.0.2.0/28
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PutSatelliteOfficeRequest is PUT /admin/v1/satellite-offices/{id}:
// creates the office or replaces its name and ranges.
type PutSatelliteOfficeRequest struct {
	Name   string   `json:"name"`
	Ranges []string `json:"ranges"`
}

// SatelliteOfficeList is GET /admin/v1/satellite-offices.
type SatelliteOfficeList struct {
	Offices []SatelliteOffice `json:"offices"`
}
