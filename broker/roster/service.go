// Package roster loads the personnel roster (職員名簿) that municipal
// personnel systems export as CSV: staff, their departments and roles,
// and their office PCs. A dry run says what a roster would change line by
// line; an import applies it in one transaction, at once or on its
// effective date (the April 1 transfers are loaded in March), and
// applying the same roster again changes nothing. People the roster no
// longer lists are disabled only when asked, and never deleted.
package roster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/terminal"
)

// Sentinel errors of the store.
var (
	ErrNotFound   = errors.New("roster import not found")
	ErrNotPending = errors.New("roster import not pending")
)

// Import is a roster import as stored.
type Import struct {
	ID, Actor      string
	Limited        bool   // loaded by a department's IT contact
	Department     string // theirs, when Limited
	FileName       string
	Encoding       string
	CSV            string // decoded
	Effective      string // YYYY-MM-DD, JST
	EffectiveAt    time.Time
	DisableMissing bool
	Status         string // api.RosterPending, ...
	Report         []byte // JSON api.RosterReport
	CreatedAt      time.Time
	AppliedAt      time.Time
}

// Tx is the users and office PCs inside one transaction of the store.
type Tx interface {
	Users(ctx context.Context) ([]auth.UserRecord, error)
	Terminals(ctx context.Context) ([]api.Terminal, error)
	CreateUser(ctx context.Context, u auth.UserRecord) error
	// UpdateUser writes every field of an existing user.
	UpdateUser(ctx context.Context, u auth.UserRecord) error
	CreateTerminal(ctx context.Context, t api.Terminal) error
	// UpdateTerminal writes every field of an existing office PC.
	UpdateTerminal(ctx context.Context, t api.Terminal) error
	CreateImport(ctx context.Context, imp Import) error
	ImportStatus(ctx context.Context, id string) (string, error) // ErrNotFound
	FinishImport(ctx context.Context, id, status string, report []byte, at time.Time) error
}

// Store is what the roster needs from the database.
type Store interface {
	// View runs fn on one consistent read of the data; writes fail.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in one transaction: an error from fn undoes it all.
	Update(ctx context.Context, fn func(Tx) error) error
	GetImport(ctx context.Context, id string) (Import, error) // ErrNotFound
	// ListImports returns the latest imports, newest first.
	ListImports(ctx context.Context, limit int) ([]Import, error)
	// DueImports returns pending imports effective at or before at, oldest first.
	DueImports(ctx context.Context, at time.Time) ([]Import, error)
	CancelImport(ctx context.Context, id string, at time.Time) error // ErrNotFound, ErrNotPending
}

// Config is what the service is built from.
type Config struct {
	Store Store
	Audit audit.Recorder
	Log   *slog.Logger
	Now   func() time.Time
	// PasswordHash returns a hash no password matches, for the accounts
	// an import adds (auth.Service.UnusablePasswordHash).
	PasswordHash func(ctx context.Context) (string, error)
	// Disabled is told each account an import disabled, after it is
	// committed, to end their sessions.
	Disabled func(ctx context.Context, actor, userID string) error
	// Changed runs after an import changed office PCs.
	Changed func(ctx context.Context)
	// Staff (may be nil) runs after an import was applied: who works
	// where may have changed (auth.Service.StaffChanged, which chat's
	// department member lists follow).
	Staff func(ctx context.Context)
}

// Service loads rosters.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg}
}

// jst: an effective date is a day in Japan, beginning at midnight there.
var jst = time.FixedZone("JST", 9*3600)

// effective reads the request's date: the day, its midnight, and whether
// it has come.
func (s *Service) effective(v string) (day string, at time.Time, due bool, err error) {
	now := s.cfg.Now()
	if v == "" {
		v = now.In(jst).Format(time.DateOnly)
	}
	at, perr := time.ParseInLocation(time.DateOnly, v, jst)
	if perr != nil {
		return "", time.Time{}, false, api.Errf(api.CodeValidation, "effective: a date such as 2027-04-01, not %q", v)
	}
	return v, at, !at.After(now), nil
}

// read decodes and parses the request's file; text is the file decoded.
func read(req api.RosterImportRequest) (f *File, text string, probs []api.RosterProblem) {
	if len(req.CSV) == 0 {
		return nil, "", []api.RosterProblem{{Message: "csv: the file is empty"}}
	}
	text, enc, p := Decode(req.CSV, req.Encoding)
	if p != nil {
		return nil, "", []api.RosterProblem{*p}
	}
	f, probs = Parse(text)
	if f != nil {
		f.Encoding = enc
	}
	return f, text, probs
}

// problemsError is roster_invalid (its Unwrap) carrying every problem,
// for the job that marks a pending import failed with them.
type problemsError struct {
	probs []api.RosterProblem
	err   *api.Error
}

func (e *problemsError) Error() string { return e.err.Error() }
func (e *problemsError) Unwrap() error { return e.err }

func invalid(probs []api.RosterProblem) error {
	return &problemsError{probs, api.Errf(api.CodeRosterInvalid, "%d problem(s); the first: %s", len(probs), probs[0])}
}

// DryRun reports what the roster would change now, line by line, and
// changes nothing. Problems are in the report, not an error.
func (s *Service) DryRun(ctx context.Context, actor string, req api.RosterImportRequest) (api.RosterReport, error) {
	day, _, _, err := s.effective(req.Effective)
	if err != nil {
		return api.RosterReport{}, err
	}
	f, _, probs := read(req)
	if len(probs) > 0 {
		return (&plan{problems: probs}).report(f, day, req.DisableMissing), nil
	}
	return s.dryRun(ctx, f, actor, day, req.DisableMissing)
}

// dryRun plans a parsed roster on a read-only view of the data.
func (s *Service) dryRun(ctx context.Context, f *File, actor, day string, disableMissing bool) (api.RosterReport, error) {
	var p *plan
	err := s.cfg.Store.View(ctx, func(tx Tx) error {
		var err error
		p, err = s.plan(ctx, tx, f, actor, disableMissing, "")
		return err
	})
	if err != nil {
		return api.RosterReport{}, err
	}
	return p.report(f, day, disableMissing), nil
}

func (s *Service) plan(ctx context.Context, tx Tx, f *File, actor string, disableMissing bool, hash string) (*plan, error) {
	users, err := tx.Users(ctx)
	if err != nil {
		return nil, err
	}
	pcs, err := tx.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	return makePlan(ctx, f, users, pcs, planOptions{disableMissing: disableMissing, actor: actor,
		now: s.cfg.Now(), passwordHash: hash}), nil
}

// Import loads a roster: applied now when its effective date has come,
// else kept pending until that day. A roster with any problem changes
// nothing and is refused (roster_invalid, naming the first).
func (s *Service) Import(ctx context.Context, actor string, req api.RosterImportRequest) (api.RosterImport, error) {
	day, at, due, err := s.effective(req.Effective)
	if err != nil {
		return api.RosterImport{}, err
	}
	if e := api.CheckText("file_name", req.FileName, 200); e != nil {
		return api.RosterImport{}, e
	}
	f, text, probs := read(req)
	if len(probs) > 0 {
		return api.RosterImport{}, invalid(probs)
	}
	dept, limited := auth.DepartmentLimit(ctx)
	imp := Import{ID: newID(), Actor: actor, Limited: limited, Department: dept, FileName: req.FileName,
		Encoding: f.Encoding, CSV: text, Effective: day, EffectiveAt: at, DisableMissing: req.DisableMissing,
		Status: api.RosterPending, CreatedAt: s.cfg.Now()}
	if !due {
		// What it would do today, so that IT can check it in March; it
		// is computed again against the data of its day.
		rep, err := s.dryRun(ctx, f, actor, day, req.DisableMissing)
		if err != nil {
			return api.RosterImport{}, err
		}
		if len(rep.Problems) > 0 {
			return api.RosterImport{}, invalid(rep.Problems)
		}
		imp.Report, _ = json.Marshal(rep)
		if err := s.cfg.Store.Update(ctx, func(tx Tx) error { return tx.CreateImport(ctx, imp) }); err != nil {
			return api.RosterImport{}, err
		}
		s.record(ctx, actor, "roster.scheduled", imp, rep)
		return toAPI(imp), nil
	}
	imp.Status = api.RosterApplied
	out, err := s.apply(ctx, imp, f, true)
	if err != nil {
		return api.RosterImport{}, err
	}
	return out, nil
}

// apply computes and writes the plan and marks the import applied, in one
// transaction. A new import is stored with it; a pending one is applied
// only if it is still pending, so a second run (another broker, a
// restart) changes nothing.
func (s *Service) apply(ctx context.Context, imp Import, f *File, isNew bool) (api.RosterImport, error) {
	hash, err := s.cfg.PasswordHash(ctx)
	if err != nil {
		return api.RosterImport{}, err
	}
	var p *plan
	var rep api.RosterReport
	skipped := false
	err = s.cfg.Store.Update(ctx, func(tx Tx) error {
		if !isNew {
			st, err := tx.ImportStatus(ctx, imp.ID)
			if err != nil {
				return err
			}
			if st != api.RosterPending {
				skipped = true
				return nil
			}
		}
		var err error
		if p, err = s.plan(ctx, tx, f, imp.Actor, imp.DisableMissing, hash); err != nil {
			return err
		}
		rep = p.report(f, imp.Effective, imp.DisableMissing)
		if len(p.problems) > 0 {
			return invalid(p.problems)
		}
		if err := write(ctx, tx, p); err != nil {
			return err
		}
		imp.Status, imp.AppliedAt = api.RosterApplied, s.cfg.Now()
		imp.Report, _ = json.Marshal(rep)
		if isNew {
			return tx.CreateImport(ctx, imp)
		}
		return tx.FinishImport(ctx, imp.ID, api.RosterApplied, imp.Report, imp.AppliedAt)
	})
	if skipped {
		return s.Get(ctx, imp.ID)
	}
	if err != nil {
		return api.RosterImport{}, err
	}
	s.record(ctx, imp.Actor, "roster.applied", imp, rep)
	if s.cfg.Staff != nil {
		s.cfg.Staff(ctx)
	}
	for _, id := range p.disabled {
		if err := s.cfg.Disabled(ctx, imp.Actor, id); err != nil {
			s.cfg.Log.Warn("roster: end sessions of a disabled account", "user", id, "err", err)
		}
	}
	if p.pcsChanged() && s.cfg.Changed != nil {
		s.cfg.Changed(ctx)
	}
	return toAPI(imp), nil
}

// write makes the plan so: accounts first (PCs refer to them), then the
// PCs that lose their user, then the PCs as they end up.
func write(ctx context.Context, tx Tx, p *plan) error {
	for _, u := range p.newUsers {
		if err := tx.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("add %s: %w", u.ID, err)
		}
	}
	for _, u := range p.updUsers {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("update %s: %w", u.ID, err)
		}
	}
	for _, t := range p.detach {
		if err := tx.UpdateTerminal(ctx, t); err != nil {
			return fmt.Errorf("unpair %s: %w", t.ID, err)
		}
	}
	for _, t := range p.newPCs {
		if err := tx.CreateTerminal(ctx, t); err != nil {
			return fmt.Errorf("add office PC %s: %w", t.ID, err)
		}
	}
	for _, t := range p.updPCs {
		if err := tx.UpdateTerminal(ctx, t); err != nil {
			return fmt.Errorf("update office PC %s: %w", t.ID, err)
		}
	}
	return nil
}

// ApplyDue applies the pending imports whose day has come, oldest first
// (the broker's roster.apply-due job). One that the data of its day
// makes fail is marked failed, with its problems, and changes nothing.
func (s *Service) ApplyDue(ctx context.Context) (int, error) {
	due, err := s.cfg.Store.DueImports(ctx, s.cfg.Now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, imp := range due {
		ictx := ctx
		if imp.Limited {
			ictx = auth.LimitToDepartment(ctx, imp.Department)
		}
		f, probs := Parse(imp.CSV)
		if f != nil {
			f.Encoding = imp.Encoding
		}
		if len(probs) == 0 {
			_, err = s.apply(ictx, imp, f, false)
			var pe *problemsError
			if !errors.As(err, &pe) {
				if err != nil {
					return n, err
				}
				n++
				continue
			}
			probs = pe.probs
		}
		rep := (&plan{problems: probs}).report(f, imp.Effective, imp.DisableMissing)
		b, _ := json.Marshal(rep)
		if err := s.cfg.Store.Update(ctx, func(tx Tx) error {
			if st, err := tx.ImportStatus(ctx, imp.ID); err != nil || st != api.RosterPending {
				return err
			}
			return tx.FinishImport(ctx, imp.ID, api.RosterFailed, b, s.cfg.Now())
		}); err != nil {
			return n, err
		}
		s.cfg.Log.Warn("roster import failed on its effective date", "id", imp.ID, "problems", len(probs), "first", probs[0].String())
		s.record(ctx, imp.Actor, "roster.failed", imp, rep)
	}
	return n, nil
}

// Imports lists the latest imports (a department's IT contact sees theirs).
func (s *Service) Imports(ctx context.Context) (api.RosterImportList, error) {
	imps, err := s.cfg.Store.ListImports(ctx, 200)
	if err != nil {
		return api.RosterImportList{}, err
	}
	out := api.RosterImportList{Imports: []api.RosterImport{}}
	for _, imp := range imps {
		if visible(ctx, imp) {
			a := toAPI(imp)
			a.Report = nil // the list is an overview; one import has its report
			out.Imports = append(out.Imports, a)
		}
	}
	return out, nil
}

func visible(ctx context.Context, imp Import) bool {
	d, limited := auth.DepartmentLimit(ctx)
	return !limited || (imp.Limited && imp.Department == d)
}

// Get returns one import with its report.
func (s *Service) Get(ctx context.Context, id string) (api.RosterImport, error) {
	imp, err := s.cfg.Store.GetImport(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !visible(ctx, imp)) {
		return api.RosterImport{}, api.Errf(api.CodeNotFound, "no roster import %q", id)
	}
	if err != nil {
		return api.RosterImport{}, err
	}
	return toAPI(imp), nil
}

// Cancel withdraws a pending import before its day.
func (s *Service) Cancel(ctx context.Context, actor, id string) (api.RosterImport, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return api.RosterImport{}, err
	}
	err := s.cfg.Store.CancelImport(ctx, id, s.cfg.Now())
	switch {
	case errors.Is(err, ErrNotFound):
		return api.RosterImport{}, api.Errf(api.CodeNotFound, "no roster import %q", id)
	case errors.Is(err, ErrNotPending):
		return api.RosterImport{}, api.Err(api.CodeRosterNotPending, id)
	case err != nil:
		return api.RosterImport{}, err
	}
	out, err := s.Get(ctx, id)
	if err == nil {
		s.record(ctx, actor, "roster.cancelled", Import{ID: id, Effective: out.Effective, FileName: out.FileName}, api.RosterReport{})
	}
	return out, err
}

func (s *Service) record(ctx context.Context, actor, action string, imp Import, rep api.RosterReport) {
	c := rep.Counts
	f := map[string]string{"effective": imp.Effective, "file": imp.FileName,
		"added": strconv.Itoa(c.Added), "moved": strconv.Itoa(c.Moved), "changed": strconv.Itoa(c.Changed),
		"unchanged": strconv.Itoa(c.Unchanged), "disabled": strconv.Itoa(c.Disabled),
		"disable_missing": strconv.FormatBool(imp.DisableMissing)}
	if imp.Limited {
		f["department"] = imp.Department
	}
	if err := s.cfg.Audit.Record(ctx, audit.Event{At: s.cfg.Now(), Actor: actor, Action: action, Target: imp.ID, Fields: f}); err != nil {
		s.cfg.Log.Error("audit record failed", "action", action, "err", err)
	}
}

func toAPI(imp Import) api.RosterImport {
	out := api.RosterImport{ID: imp.ID, Status: imp.Status, Actor: imp.Actor, FileName: imp.FileName,
		Effective: imp.Effective, DisableMissing: imp.DisableMissing, CreatedAt: imp.CreatedAt, AppliedAt: imp.AppliedAt}
	if imp.Limited {
		out.Department = imp.Department
	}
	if len(imp.Report) > 0 {
		var r api.RosterReport
		if json.Unmarshal(imp.Report, &r) == nil {
			out.Report = &r
		}
	}
	return out
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ri_" + hex.EncodeToString(b[:])
}

// checkPC checks an office PC as terminal.Service does, for a message
// that names the PC.
func checkPC(t *api.Terminal) error {
	err := terminal.Check(t)
	if e := api.AsError(err); e != nil {
		return fmt.Errorf("office PC %s: %s", t.ID, e.Detail)
	}
	return err
}
