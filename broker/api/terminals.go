package api

import "time"

// Terminal is an office PC (the machine at a member of staff's desk) as IT
// sees it. A terminal is either paired with one member of staff (UserID) or
// in the shared pool (Pool) that staff without a personal PC draw from.
type Terminal struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Address    string    `json:"address"`  // host name or IP the broker dials
	RDPPort    int       `json:"rdp_port"` // usually 3389
	MAC        string    `json:"mac"`      // for Wake-on-LAN, aa:bb:cc:dd:ee:ff
	WakeAddr   string    `json:"wake_addr"`
	WakePort   int       `json:"wake_port"` // usually 9
	Department string    `json:"department"`
	UserID     string    `json:"user_id,omitempty"`
	Pool       bool      `json:"pool,omitempty"`
	Segment    string    `json:"segment"`          // SegmentLGWAN, SegmentMyNumber or SegmentInternet
	State      string    `json:"state"`            // TerminalAsleep, TerminalAwake, TerminalInUse or TerminalUnknown
	SeenAt     time.Time `json:"seen_at,omitzero"` // when its RDP port last answered the broker's probe; zero: not since the broker started
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Terminal states: what the broker last knew.
const (
	TerminalUnknown = "unknown"
	TerminalAsleep  = "asleep"
	TerminalAwake   = "awake"
	TerminalInUse   = "in_use"
)

// PairedTerminal is the office PC as its user sees it (no network details).
type PairedTerminal struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	State  string    `json:"state"`
	SeenAt time.Time `json:"seen_at,omitzero"` // as Terminal.SeenAt
	Pool   bool      `json:"pool,omitempty"`
}

// CreateTerminalRequest is POST /admin/v1/terminals. ID may be empty (one
// is generated). WakeAddr defaults to the limited broadcast address and
// WakePort to 9, RDPPort to 3389.
type CreateTerminalRequest struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name"`
	Address    string `json:"address"`
	RDPPort    int    `json:"rdp_port,omitempty"`
	MAC        string `json:"mac,omitempty"`
	WakeAddr   string `json:"wake_addr,omitempty"`
	WakePort   int    `json:"wake_port,omitempty"`
	Department string `json:"department,omitempty"`
	UserID     string `json:"user_id,omitempty"`
	Pool       bool   `json:"pool,omitempty"`
	Segment    string `json:"segment,omitempty"` // default SegmentLGWAN
}

// UpdateTerminalRequest is PATCH /admin/v1/terminals/{id}; nil fields are
// unchanged. Pairing has its own route.
type UpdateTerminalRequest struct {
	Name       *string `json:"name,omitempty"`
	Address    *string `json:"address,omitempty"`
	RDPPort    *int    `json:"rdp_port,omitempty"`
	MAC        *string `json:"mac,omitempty"`
	WakeAddr   *string `json:"wake_addr,omitempty"`
	WakePort   *int    `json:"wake_port,omitempty"`
	Department *string `json:"department,omitempty"`
	Pool       *bool   `json:"pool,omitempty"`
}

// PairTerminalRequest is POST /admin/v1/terminals/{id}/pair. An empty
// UserID unpairs the terminal.
type PairTerminalRequest struct {
	UserID string `json:"user_id"`
}

// TerminalList is GET /admin/v1/terminals.
type TerminalList struct {
	Terminals []Terminal `json:"terminals"`
}
