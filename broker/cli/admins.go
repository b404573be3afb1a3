package cli

import (
	"context"
	"errors"
	"io"
	"runtime"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/csvexport"
	"github.com/zaitaku/zaitaku/broker/oplog"
	"github.com/zaitaku/zaitaku/broker/roster"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// What the commands ask of the broker, declared here by their user. Each
// has two faces: the domain services on the data directory (local), and
// the REST API of a running broker with an admin token (remote.go). The
// actor arguments name the CLI's user locally; over REST the broker takes
// the actor from the token.

// accounts is staff, laptops and the security policy.
type accounts interface {
	CreateUser(ctx context.Context, actor string, req api.CreateUserRequest) (*api.CreateUserResponse, error)
	UpdateUser(ctx context.Context, actor, id string, req api.UpdateUserRequest) (*api.User, error)
	ResetPassword(ctx context.Context, actor, id string) (*api.ResetPasswordResponse, error)
	ResetTOTP(ctx context.Context, actor, id string) error
	Unlock(ctx context.Context, actor, id string) error
	ListUsers(ctx context.Context, department string) ([]api.User, error)
	ListDevices(ctx context.Context, userID string) ([]api.Device, error)
	RevokeDevice(ctx context.Context, actor, id string) (*api.Device, error)
	ApproveDevice(ctx context.Context, actor, id string) (*api.Device, error)
	SetPolicy(ctx context.Context, actor string, up api.PolicyUpdate) (*api.Policy, error)
	CurrentPolicy(ctx context.Context) (api.Policy, error)
	DemoOTPCode(ctx context.Context, id string) (string, error)
}

// operationLog is the operation-log search, export and evidence.
type operationLog interface {
	Search(ctx context.Context, q api.OplogQuery) (api.OplogPage, error)
	Timeline(ctx context.Context, deviceID string, q api.OplogQuery) (api.OplogTimeline, error)
	Findings(ctx context.Context, deviceID, cursor string) (api.OplogFindingList, error)
	Export(ctx context.Context, q api.OplogQuery, format string, o csvexport.Options, w io.Writer) (int, error)
	Config(ctx context.Context) (api.OplogConfig, error)
	SetConfig(ctx context.Context, actor string, u api.OplogConfigUpdate) (api.OplogConfig, error)
	Holds(ctx context.Context) (api.OplogHoldList, error)
	PlaceHold(ctx context.Context, actor string, h api.OplogHold) (api.OplogHold, error)
	ReleaseHold(ctx context.Context, actor, kind, subject string) error
}

// rosterAdmin is the personnel roster's imports.
type rosterAdmin interface {
	DryRun(ctx context.Context, actor string, req api.RosterImportRequest) (api.RosterReport, error)
	Import(ctx context.Context, actor string, req api.RosterImportRequest) (api.RosterImport, error)
	Imports(ctx context.Context) (api.RosterImportList, error)
	Cancel(ctx context.Context, actor, id string) (api.RosterImport, error)
}

// sessionAdmin is the cap, the session policy and the live sessions.
type sessionAdmin interface {
	SlotConfig(ctx context.Context) (api.SlotConfig, error)
	SetSlotConfig(ctx context.Context, actor string, up api.SlotConfigUpdate) (api.SlotConfig, error)
	// Live is the granted sessions and the queue, in request order.
	Live(ctx context.Context) ([]api.Slot, error)
	End(ctx context.Context, actor, slotID, reason string) error
	// BCP mode (bcp.go).
	BCP(ctx context.Context) (api.BCP, error)
	SwitchBCP(ctx context.Context, actor string, on bool, reason string) (api.BCP, error)
	ConfigureBCP(ctx context.Context, actor string, up api.BCPConfigUpdate) (api.BCP, error)
}

// localAccounts is auth's service on the data directory.
type localAccounts struct{ *auth.Service }

func (a localAccounts) CurrentPolicy(ctx context.Context) (api.Policy, error) {
	return a.Policy(ctx), nil
}

// localOplog is the operation-log service on the data directory.
type localOplog struct{ s *oplog.Service }

func (l localOplog) Search(ctx context.Context, q api.OplogQuery) (api.OplogPage, error) {
	oq, err := oplog.QueryFromAPI(q)
	if err != nil {
		return api.OplogPage{}, err
	}
	return l.s.Search(ctx, oq)
}

func (l localOplog) Timeline(ctx context.Context, deviceID string, q api.OplogQuery) (api.OplogTimeline, error) {
	oq, err := oplog.QueryFromAPI(q)
	if err != nil {
		return api.OplogTimeline{}, err
	}
	return l.s.Timeline(ctx, deviceID, oq)
}

func (l localOplog) Findings(ctx context.Context, deviceID, cursor string) (api.OplogFindingList, error) {
	return l.s.Findings(ctx, deviceID, cursor)
}

func (l localOplog) Export(ctx context.Context, q api.OplogQuery, format string, o csvexport.Options, w io.Writer) (int, error) {
	oq, err := oplog.QueryFromAPI(q)
	if err != nil {
		return 0, err
	}
	return l.s.Export(ctx, oq, format, o, w)
}

func (l localOplog) Config(ctx context.Context) (api.OplogConfig, error) { return l.s.Config(ctx) }

func (l localOplog) SetConfig(ctx context.Context, actor string, u api.OplogConfigUpdate) (api.OplogConfig, error) {
	return l.s.SetConfig(ctx, actor, u)
}

func (l localOplog) Holds(ctx context.Context) (api.OplogHoldList, error) { return l.s.Holds(ctx) }

func (l localOplog) PlaceHold(ctx context.Context, actor string, h api.OplogHold) (api.OplogHold, error) {
	return l.s.PlaceHold(ctx, actor, h)
}

func (l localOplog) ReleaseHold(ctx context.Context, actor, kind, subject string) error {
	return l.s.ReleaseHold(ctx, actor, kind, subject)
}

var _ rosterAdmin = (*roster.Service)(nil)

func onWindows() bool { return runtime.GOOS == "windows" }

// localSessions is the slots' tables on the data directory. The CLI
// shares the broker's database, not its memory: the cap and ends written
// here are applied by the running broker on its next sweep (within
// seconds), or at its next start.
type localSessions struct {
	st    slots.Store
	audit audit.Recorder
}

func (l localSessions) SlotConfig(ctx context.Context) (api.SlotConfig, error) {
	p, err := l.st.LoadConfig(ctx)
	if errors.Is(err, slots.ErrNoConfig) {
		return slots.DefaultPolicy, nil
	}
	return p, err
}

func (l localSessions) SetSlotConfig(ctx context.Context, actor string, up api.SlotConfigUpdate) (api.SlotConfig, error) {
	return slots.SavePolicy(ctx, l.st, l.audit, time.Now(), actor, slots.DefaultPolicy, up)
}

func (l localSessions) Live(ctx context.Context) ([]api.Slot, error) { return l.st.LiveSlots(ctx) }

func (l localSessions) End(ctx context.Context, actor, slotID, reason string) error {
	return slots.RequestEnd(ctx, l.st, l.audit, time.Now(), actor, slotID, reason)
}
