package api

import (
	"strings"
	"time"
)

// Slot states.
const (
	SlotQueued  = "queued"
	SlotGranted = "granted"
	SlotEnded   = "ended"
)

// Why a session ended.
const (
	EndUser      = "user"       // the user disconnected or left the queue
	EndIdle      = "idle"       // no activity for the idle timeout
	EndMaxLength = "max_length" // the maximum session length was reached
	EndAdmin     = "admin"      // IT ended it
	EndLease     = "lease"      // the app stopped sending heartbeats (crash, network)
	EndSignedOut = "signed_out" // the sign-in that held it ended (logout, password change)
)

// Slot is one member of staff's place: queued for, or holding, one of the
// concurrent sessions the cap allows. A user holds at most one.
type Slot struct {
	ID               string          `json:"id"`
	UserID           string          `json:"user_id"`
	State            string          `json:"state"`              // SlotQueued, SlotGranted, SlotEnded
	Position         int             `json:"position,omitempty"` // 1-based, while queued
	ETASeconds       int             `json:"eta_seconds,omitempty"`
	Terminal         *PairedTerminal `json:"terminal,omitempty"`
	RequestedAt      time.Time       `json:"requested_at"`
	GrantedAt        time.Time       `json:"granted_at,omitzero"`
	LeaseUntil       time.Time       `json:"lease_until"`
	HeartbeatSeconds int             `json:"heartbeat_seconds"` // send a heartbeat this often
	EndsAt           time.Time       `json:"ends_at,omitzero"`  // maximum length, when set
	IdleMinutes      int             `json:"idle_minutes,omitempty"`
	EndedAt          time.Time       `json:"ended_at,omitzero"`
	EndReason        string          `json:"end_reason,omitempty"`
	// RDP is what the RDP client may redirect, sent with a granted slot.
	RDP *RDPPolicy `json:"rdp,omitempty"`
	// Shown to IT only (GET /admin/v1/sessions).
	UserName     string    `json:"user_name,omitempty"`
	Department   string    `json:"department,omitempty"`
	LastActiveAt time.Time `json:"last_active_at,omitzero"`
	BytesUp      int64     `json:"bytes_up,omitempty"`
	BytesDown    int64     `json:"bytes_down,omitempty"`
}

// SlotRequest is POST /v1/slots. The body may be empty.
type SlotRequest struct {
	// Device names the laptop for IT's session list (optional).
	Device string `json:"device,omitempty"`
}

// HeartbeatRequest is POST /v1/slots/{id}/heartbeat. Active tells the
// broker the user did something since the last heartbeat (idle timeout);
// the byte counters are what the app's tunnel carried since then (bytes up
// count as activity; the broker's traffic figures are its own).
type HeartbeatRequest struct {
	Active    bool  `json:"active"`
	BytesUp   int64 `json:"bytes_up,omitempty"`
	BytesDown int64 `json:"bytes_down,omitempty"`
}

// Status is GET /v1/status: the figures the app's home screen shows.
type Status struct {
	SlotsCap  int             `json:"slots_cap"`
	SlotsUsed int             `json:"slots_used"`
	SlotsFree int             `json:"slots_free"`
	Queued    int             `json:"queued"`
	Terminal  *PairedTerminal `json:"terminal,omitempty"` // nil: no PC paired and no pool
	Slot      *Slot           `json:"slot,omitempty"`     // the caller's slot, if any
	// BCP is set while BCP mode is on (an app that connects late learns
	// it here; running apps get EventBCP).
	BCP *BCPNotice `json:"bcp,omitempty"`
}

// SlotConfig is the session policy IT sets (GET/PATCH /admin/v1/slots/config).
type SlotConfig struct {
	Cap              int       `json:"cap"`          // concurrent sessions
	IdleMinutes      int       `json:"idle_minutes"` // 0: no idle timeout
	MaxMinutes       int       `json:"max_minutes"`  // 0: no maximum length
	WarnMinutes      int       `json:"warn_minutes"` // warning before an idle or maximum-length end
	LeaseSeconds     int       `json:"lease_seconds"`
	HeartbeatSeconds int       `json:"heartbeat_seconds"`
	RDP              RDPPolicy `json:"rdp"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`
	UpdatedBy        string    `json:"updated_by,omitempty"`
}

// SlotConfigUpdate is PATCH /admin/v1/slots/config; nil fields are unchanged.
type SlotConfigUpdate struct {
	Cap         *int `json:"cap,omitempty"`
	IdleMinutes *int `json:"idle_minutes,omitempty"`
	MaxMinutes  *int `json:"max_minutes,omitempty"`
	WarnMinutes *int `json:"warn_minutes,omitempty"`
	// RDP replaces the whole redirection policy.
	RDP *RDPPolicy `json:"rdp,omitempty"`
}

// RDPPolicy is what the RDP client on the laptop may redirect to or from
// the office PC. The zero value is the LGWAN profile: screen transfer
// only, no office data on the laptop.
type RDPPolicy struct {
	Clipboard  bool `json:"clipboard"` // copy and paste between laptop and office PC
	Drives     bool `json:"drives"`    // the laptop's home folder on the office PC
	Printers   bool `json:"printers"`  // the laptop's printers on the office PC
	SmartCards bool `json:"smart_cards"`
	USB        bool `json:"usb"`   // USB device redirection
	Audio      bool `json:"audio"` // the office PC's sound on the laptop
}

// RDPRedirections names the redirections, in the order String lists them.
var RDPRedirections = []string{"clipboard", "drives", "printers", "smart_cards", "usb", "audio"}

func (p *RDPPolicy) fields() []*bool {
	return []*bool{&p.Clipboard, &p.Drives, &p.Printers, &p.SmartCards, &p.USB, &p.Audio}
}

// String lists what is allowed, comma-separated, or "none".
func (p RDPPolicy) String() string {
	out := ""
	for i, f := range p.fields() {
		if *f {
			if out != "" {
				out += ","
			}
			out += RDPRedirections[i]
		}
	}
	if out == "" {
		return "none"
	}
	return out
}

// ParseRDPPolicy reads what String writes: "none" or names from
// RDPRedirections, comma-separated.
func ParseRDPPolicy(s string) (RDPPolicy, error) {
	var p RDPPolicy
	if s == "none" || s == "" {
		return p, nil
	}
	f := p.fields()
next:
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		for i, known := range RDPRedirections {
			if name == known {
				*f[i] = true
				continue next
			}
		}
		return p, Errf(CodeValidation, "RDP redirection %q: want none or any of %s", name, strings.Join(RDPRedirections, ","))
	}
	return p, nil
}

// SessionList is GET /admin/v1/sessions: live sessions, then the queue.
type SessionList struct {
	Cap    int `json:"cap"` // the cap in force (BCP mode's while it is on)
	Used   int `json:"used"`
	Queued int `json:"queued"`
	// BCP is BCP mode's state, so that the live view needs one call.
	BCP      BCP    `json:"bcp"`
	Sessions []Slot `json:"sessions"`
	Queue    []Slot `json:"queue"`
}

// EndSessionRequest is POST /admin/v1/sessions/{id}/end (body optional).
type EndSessionRequest struct {
	Reason string `json:"reason,omitempty"` // shown to the user and audited
}

// BCP is business-continuity mode (業務継続), for a disaster: IT switches it
// on with a reason, the cap rises to Cap and the staff of the listed roles
// or departments are served before everyone else waiting. Cap, Roles and
// Departments are configured beforehand (PATCH /admin/v1/bcp/config), so
// switching on in an emergency needs only the reason.
type BCP struct {
	Active       bool      `json:"active"`
	Cap          int       `json:"cap"`                     // the cap while active (the normal cap if higher)
	Roles        []Role    `json:"roles"`                   // staff with any of these roles queue first
	Departments  []string  `json:"departments"`             // staff of these departments queue first
	Reason       string    `json:"reason,omitempty"`        // why it was last switched on or off
	Since        time.Time `json:"since,omitzero"`          // when it was last switched on or off
	UpdatedAt    time.Time `json:"updated_at,omitzero"`     // last change of any field
	UpdatedBy    string    `json:"updated_by,omitempty"`    // staff ID of IT
	NormalCap    int       `json:"normal_cap,omitempty"`    // the cap of the slot policy (GET only)
	EffectiveCap int       `json:"effective_cap,omitempty"` // the cap in force now (GET only)
}

// BCPConfigUpdate is PATCH /admin/v1/bcp/config; nil fields are unchanged.
type BCPConfigUpdate struct {
	Cap         *int      `json:"cap,omitempty"`
	Roles       *[]Role   `json:"roles,omitempty"`
	Departments *[]string `json:"departments,omitempty"`
}

// BCPSwitch is POST /admin/v1/bcp/on and /admin/v1/bcp/off.
type BCPSwitch struct {
	Reason string `json:"reason"` // required: shown to staff and recorded
}

// BCPNotice is the event socket's EventBCP and Status.BCP: what every
// running app shows while BCP mode is on.
type BCPNotice struct {
	Active bool      `json:"active"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Cap    int       `json:"cap,omitempty"`
}

// Limits of BCP mode's lists.
const (
	BCPMaxDepartments = 200
	BCPMaxReason      = 500
)
