package api

import "time"

// Telework request kinds, half days, reasons and states (issue 18).
const (
	TeleworkDates  = "dates"  // given dates (each a working day)
	TeleworkPeriod = "period" // a yearly permission: one fiscal year, April to March

	HalfMorning   = "am"
	HalfAfternoon = "pm"

	ReasonChildcare = "childcare"
	ReasonCare      = "care"
	ReasonHealth    = "health"
	ReasonBCP       = "bcp"
	ReasonOther     = "other"

	RequestPending   = "pending"
	RequestApproved  = "approved"
	RequestDeclined  = "declined"
	RequestWithdrawn = "withdrawn"
	// RequestNoticed is a request under a notice-only policy: in force at
	// once, the supervisor only told.
	RequestNoticed = "noticed"
)

// Department telework modes, set by IT. Free is the default: no request
// is needed, as before issue 18.
const (
	TeleworkFree       = "free"
	TeleworkNoticeOnly = "notice"
	TeleworkApproval   = "approval"
)

// Places of work, chosen at the start of work.
const (
	PlaceHome      = "home"
	PlaceSatellite = "satellite"
	PlaceOther     = "other"
)

// EndHours ends a session at the end of the department's allowed hours
// (when IT set disconnect); its warning comes as a SlotWarning too.
const EndHours = "hours"

// Telework events for the app and tray (stored: a reconnecting app gets them).
const (
	EventTeleworkDecided = "telework.decided" // Data: TeleworkNotice, to the requester
	EventTeleworkPending = "telework.pending" // Data: TeleworkNotice, to the approvers
	EventTeleworkWork    = "telework.work"    // Data: TeleworkNotice, start or end of work, to the approvers
)

// TeleworkNotice is what a telework event says, in codes for the app to word.
type TeleworkNotice struct {
	Kind      string    `json:"kind"` // "approved", "declined", "pending", "noticed", "withdrawn", "work_start", "work_end", "overtime"
	RequestID string    `json:"request_id,omitempty"`
	UserID    string    `json:"user_id"` // whom it is about
	By        string    `json:"by,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Place     string    `json:"place,omitempty"`
	At        time.Time `json:"at"`
}

// TeleworkRequestCreate asks for telework: either dates (YYYY-MM-DD, JST)
// or a fiscal year (2026 = April 2026 to March 2027).
type TeleworkRequestCreate struct {
	Dates      []string `json:"dates,omitempty"`
	FiscalYear int      `json:"fiscal_year,omitempty"`
	Half       string   `json:"half,omitempty"` // "", HalfMorning, HalfAfternoon
	Reason     string   `json:"reason"`
	Note       string   `json:"note,omitempty"`
}

// TeleworkRequest is a request as stored.
type TeleworkRequest struct {
	ID         string   `json:"id"`
	UserID     string   `json:"user_id"`
	UserName   string   `json:"user_name,omitempty"`
	Department string   `json:"department"`
	Kind       string   `json:"kind"`
	From       string   `json:"from"` // first day, YYYY-MM-DD (JST)
	To         string   `json:"to"`   // last day
	Dates      []string `json:"dates,omitempty"`
	FiscalYear int      `json:"fiscal_year,omitempty"`
	Half       string   `json:"half,omitempty"`
	Reason     string   `json:"reason"`
	Note       string   `json:"note,omitempty"`
	// SameDay marks a request made on the day it starts (a sick child).
	SameDay   bool      `json:"same_day"`
	State     string    `json:"state"`
	DecidedBy string    `json:"decided_by,omitempty"`
	StandIn   bool      `json:"stand_in,omitempty"` // decided by a stand-in (代理承認)
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// TeleworkRequestList is a list of requests, oldest first.
type TeleworkRequestList struct {
	Requests []TeleworkRequest `json:"requests"`
}

// TeleworkDecision approves or declines a request.
type TeleworkDecision struct {
	Approve bool   `json:"approve"`
	Comment string `json:"comment,omitempty"`
}

// TeleworkStandIn names who decides in the approver's place while away.
type TeleworkStandIn struct {
	Approver string `json:"approver,omitempty"` // filled by the broker: the caller
	StandIn  string `json:"stand_in"`
	From     string `json:"from"` // YYYY-MM-DD, inclusive
	To       string `json:"to"`
}

// TeleworkApprovers are the approvers IT named for a department, beside
// its supervisors.
type TeleworkApprovers struct {
	Department string   `json:"department,omitempty"`
	Users      []string `json:"users"`
}

// TeleworkPolicy is a department's telework rule, set by IT.
type TeleworkPolicy struct {
	Department string `json:"department"`
	Mode       string `json:"mode"` // TeleworkFree (default), TeleworkNoticeOnly, TeleworkApproval
	// Allowed hours, "HH:MM" JST; empty: any time.
	HoursStart  string `json:"hours_start,omitempty"`
	HoursEnd    string `json:"hours_end,omitempty"`
	WarnMinutes int    `json:"warn_minutes,omitempty"` // warning before HoursEnd
	Disconnect  bool   `json:"disconnect,omitempty"`   // end sessions at HoursEnd
	// Planned working day, "HH:MM" JST (default 08:30–17:15).
	WorkStart string    `json:"work_start,omitempty"`
	WorkEnd   string    `json:"work_end,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// TeleworkPolicyList is every department IT set a policy for.
type TeleworkPolicyList struct {
	Policies []TeleworkPolicy `json:"policies"`
}

// Holiday is a day off in IT's calendar.
type Holiday struct {
	Date string `json:"date"` // YYYY-MM-DD
	Name string `json:"name"`
	Kind string `json:"kind"` // "national" or "municipal"
}

// HolidayList is the calendar, by date.
type HolidayList struct {
	Holidays []Holiday `json:"holidays"`
}

// TeleworkWorkStart starts the day's work.
type TeleworkWorkStart struct {
	Place string `json:"place"` // PlaceHome, PlaceSatellite, PlaceOther
}

// WorkDay is one person's working-time record for one day.
type WorkDay struct {
	Date         string    `json:"date"`
	UserID       string    `json:"user_id"`
	UserName     string    `json:"user_name,omitempty"`
	Department   string    `json:"department,omitempty"`
	Planned      bool      `json:"planned"` // telework was approved or noticed for the day
	Half         string    `json:"half,omitempty"`
	PlannedStart time.Time `json:"planned_start,omitzero"`
	PlannedEnd   time.Time `json:"planned_end,omitzero"`
	Place        string    `json:"place,omitempty"`
	Start        time.Time `json:"start,omitzero"` // first connect or "start work", the earlier
	End          time.Time `json:"end,omitzero"`   // last disconnect or "end work", the later
	BreakMinutes int       `json:"break_minutes"`
	WorkMinutes  int       `json:"work_minutes"`
	Connected    bool      `json:"connected"`
	Flags        []string  `json:"flags,omitempty"` // WorkFlag*
}

// Flags of a working day for the supervisor and HR.
const (
	WorkFlagOvertime  = "overtime"  // worked past the planned end
	WorkFlagUnplanned = "unplanned" // worked where approval was required and missing
	WorkFlagNoEnd     = "no_end"    // started, not ended (still connected or never said)
)

// TeleworkToday is the caller's day: the policy, whether telework is
// planned, and the record so far.
type TeleworkToday struct {
	Date   string            `json:"date"`
	Policy TeleworkPolicy    `json:"policy"`
	DayOff bool              `json:"day_off"`
	Day    WorkDay           `json:"day"`
	Open   []TeleworkRequest `json:"requests"`
}

// TeleworkSection is a supervisor's view of their section today.
type TeleworkSection struct {
	Date       string            `json:"date"`
	Department string            `json:"department"`
	Staff      []WorkDay         `json:"staff"`
	Pending    []TeleworkRequest `json:"pending"`
}

// TeleworkExportQuery is the range of HR's export (dates, JST, inclusive).
type TeleworkExportQuery struct {
	From, To, Department string
}
