package api

import "time"

// Report periods: a row per day, ISO week (Monday to Sunday) or month,
// each in JST, the municipalities' time.
const (
	PeriodDay   = "day"
	PeriodWeek  = "week"
	PeriodMonth = "month"
)

// UsageReport is GET /admin/v1/reports/usage: per period and department,
// what the cap was asked for and what it gave.
type UsageReport struct {
	Period     string    `json:"period"` // day, week, month
	From       time.Time `json:"from"`   // inclusive
	To         time.Time `json:"to"`     // exclusive
	Department string    `json:"department,omitempty"`
	Cap        int       `json:"cap"` // the cap in force now
	// Rows are ordered by period, then department; each period has a row
	// of all departments (Department "") first.
	Rows []UsageRow `json:"rows"`
}

// UsageRow is one period of one department ("" = all departments).
type UsageRow struct {
	Start      time.Time `json:"start"` // the period's first instant (JST)
	Label      string    `json:"label"` // 2027-04-01, 2027-W14, 2027-04
	Department string    `json:"department"`
	// PeakConcurrent is the most sessions connected at once in the period.
	PeakConcurrent int       `json:"peak_concurrent"`
	PeakAt         time.Time `json:"peak_at,omitzero"`
	// SecondsConnected is the connected time within the period (a
	// session over midnight counts in both days); HoursConnected the same.
	SecondsConnected int64   `json:"seconds_connected"`
	HoursConnected   float64 `json:"hours_connected"`
	// Requests asked for in the period: Sessions were granted, of which
	// Queued waited for a slot first; GaveUp left the queue ungranted.
	Requests          int     `json:"requests"`
	Sessions          int     `json:"sessions"`
	People            int     `json:"people"` // distinct staff with a session
	SessionsPerPerson float64 `json:"sessions_per_person"`
	Queued            int     `json:"queued"`
	WaitTotalSeconds  int64   `json:"wait_total_seconds"` // of the queued ones
	WaitMeanSeconds   float64 `json:"wait_mean_seconds"`
	WaitMaxSeconds    int64   `json:"wait_max_seconds"`
	GaveUp            int     `json:"gave_up"`
	GaveUpWaitSeconds int64   `json:"gave_up_wait_seconds"` // how long they had waited in all
}

// WhatIfReport is GET /admin/v1/reports/what-if: the recorded demand
// (each granted request's time and session length) replayed against
// another cap, first come first served as the broker queues.
type WhatIfReport struct {
	Cap  int       `json:"cap"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Replayed are the granted requests asked for in [From, To).
	Replayed         int     `json:"replayed"`
	Queued           int     `json:"queued"`
	WaitTotalSeconds int64   `json:"wait_total_seconds"`
	WaitMeanSeconds  float64 `json:"wait_mean_seconds"` // of the queued ones
	WaitMaxSeconds   int64   `json:"wait_max_seconds"`
	PeakQueue        int     `json:"peak_queue"`
	PeakConcurrent   int     `json:"peak_concurrent"`
	// NotReplayed left the queue ungranted: how long they would have
	// stayed is not recorded, so they are counted, not replayed.
	NotReplayed int `json:"not_replayed"`
	// Recorded is the same demand as it happened under the real cap.
	Recorded WhatIfDay   `json:"recorded"`
	Days     []WhatIfDay `json:"days"`
}

// WhatIfDay is the replay's outcome for the requests of one day (JST),
// or, as WhatIfReport.Recorded, the recorded outcome of the whole range.
type WhatIfDay struct {
	Label            string  `json:"label"`
	Requests         int     `json:"requests"`
	Queued           int     `json:"queued"`
	WaitTotalSeconds int64   `json:"wait_total_seconds"`
	WaitMeanSeconds  float64 `json:"wait_mean_seconds"`
	WaitMaxSeconds   int64   `json:"wait_max_seconds"`
}
