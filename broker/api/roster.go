package api

import (
	"fmt"
	"time"
)

// RosterImportRequest is POST /admin/v1/roster/dry-run and
// /admin/v1/roster/imports: a CSV file as the personnel system exported it.
type RosterImportRequest struct {
	CSV      []byte `json:"csv"` // the file's bytes (base64 in JSON), UTF-8 or Shift_JIS
	FileName string `json:"file_name,omitempty"`
	// Encoding is auto (the default: a BOM or valid UTF-8 is UTF-8,
	// anything else Shift_JIS), utf-8 or shift_jis.
	Encoding string `json:"encoding,omitempty"`
	// Effective is the day (YYYY-MM-DD, JST) the roster takes effect;
	// empty or not later than today applies it at once, a later day
	// keeps it pending until that day's midnight in Japan.
	Effective string `json:"effective,omitempty"`
	// DisableMissing disables the accounts the roster no longer lists
	// (never deletes them); without it they are left as they are.
	DisableMissing bool `json:"disable_missing,omitempty"`
}

// What a roster line does to its member of staff.
const (
	RosterAdded     = "added"     // a new account (and PC)
	RosterMoved     = "moved"     // another department (人事異動), perhaps with other changes
	RosterChanged   = "changed"   // name, kana, role, e-mail or office PC
	RosterUnchanged = "unchanged" //
	RosterDisabled  = "disabled"  // not in the roster, disabled (with disable_missing)
)

// Roster import states.
const (
	RosterPending   = "pending"   // waiting for its effective date
	RosterApplied   = "applied"   //
	RosterCancelled = "cancelled" //
	RosterFailed    = "failed"    // its day came and the data of that day made it fail; Report says why
)

// RosterLine is what one line does (Line 0 for accounts the roster does
// not list).
type RosterLine struct {
	Line    int      `json:"line,omitempty"`
	StaffID string   `json:"staff_id"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Changes []string `json:"changes,omitempty"` // e.g. "department: 総務課 → 税務課"
	Note    string   `json:"note,omitempty"`
}

// RosterProblem is a reason the roster cannot be loaded, with where it is
// and what to fix.
type RosterProblem struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"` // 1-based
	Header  string `json:"header,omitempty"` // the column's header as written
	Message string `json:"message"`
}

func (p RosterProblem) String() string {
	where := ""
	switch {
	case p.Line > 0 && p.Column > 0 && p.Header != "":
		where = fmt.Sprintf("line %d, column %d (%s): ", p.Line, p.Column, p.Header)
	case p.Line > 0 && p.Column > 0:
		where = fmt.Sprintf("line %d, column %d: ", p.Line, p.Column)
	case p.Line > 0:
		where = fmt.Sprintf("line %d: ", p.Line)
	}
	return where + p.Message
}

// RosterCounts counts the lines of a report by kind.
type RosterCounts struct {
	Added     int `json:"added"`
	Moved     int `json:"moved"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Disabled  int `json:"disabled"`
}

// RosterReport is what a roster does, line by line: the answer of a dry
// run, and the record of an applied import.
type RosterReport struct {
	Encoding       string          `json:"encoding"`
	Effective      string          `json:"effective"` // YYYY-MM-DD, JST
	DisableMissing bool            `json:"disable_missing"`
	Counts         RosterCounts    `json:"counts"`
	Lines          []RosterLine    `json:"lines"`
	Problems       []RosterProblem `json:"problems"` // any problem: nothing is changed
	IgnoredColumns []string        `json:"ignored_columns,omitempty"`
}

// RosterImport is a roster loaded for a day: applied, or pending until it.
type RosterImport struct {
	ID             string        `json:"id"`
	Status         string        `json:"status"`
	Actor          string        `json:"actor"`
	Department     string        `json:"department,omitempty"` // a department IT contact's import is limited to theirs
	FileName       string        `json:"file_name,omitempty"`
	Effective      string        `json:"effective"`
	DisableMissing bool          `json:"disable_missing"`
	CreatedAt      time.Time     `json:"created_at"`
	AppliedAt      time.Time     `json:"applied_at,omitzero"`
	Report         *RosterReport `json:"report,omitempty"` // as applied; for a pending import, against the data when it was loaded
}

// RosterImportList is GET /admin/v1/roster/imports, newest first.
type RosterImportList struct {
	Imports []RosterImport `json:"imports"`
}
