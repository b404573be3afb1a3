package server

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/csvexport"
	"github.com/zaitaku/zaitaku/broker/events"
	"github.com/zaitaku/zaitaku/broker/meet"
	"github.com/zaitaku/zaitaku/broker/oplog"
	"github.com/zaitaku/zaitaku/broker/report"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// Domains are the services the routes call, built outside HTTP (by
// broker/services) and declared here as what the server needs of each.
// A new domain adds its interface here, a field below, and a routes
// method in its routes_<domain>.go listed in routeTable.
type Domains struct {
	Audit     audit.Recorder
	Auth      Accounts
	Oplog     OperationLog
	Terminals Terminals
	Events    EventHub
	Relay     Tunnels
	Slots     Slots
	Releases  Releases
	Chat      Chat
	Roster    Roster
	Telework  Telework
	Segments  Segments
	// Meet is web meetings (broker/meet); nil when the broker runs
	// without a media port, and the meeting routes answer meet_unavailable.
	Meet Meetings
	// Schedule is scheduled meetings (broker/schedule); nil: none.
	Schedule Schedule
	// Reports are the usage reports (broker/report).
	Reports Reports
}

// Accounts is sign-in, sessions and account administration (broker/auth).
type Accounts interface {
	Login(ctx context.Context, req api.LoginRequest, remote string) (*api.LoginResponse, error)
	// DeviceProven reports whether a sign-in proves an enrolled device
	// key (such sign-ins are exempt from the per-source limits).
	DeviceProven(ctx context.Context, req api.LoginRequest) bool
	Refresh(ctx context.Context, req api.RefreshRequest) (*api.LoginResponse, error)
	Authenticate(ctx context.Context, token string) (*auth.Principal, error)
	Logout(ctx context.Context, p *auth.Principal) error
	ChangePassword(ctx context.Context, p *auth.Principal, oldPw, newPw string) (*api.LoginResponse, error)
	EnrollTOTP(ctx context.Context, p *auth.Principal, code string) (*api.LoginResponse, error)
	Device(ctx context.Context, id string) (api.Device, error)

	CreateUser(ctx context.Context, actor string, req api.CreateUserRequest) (*api.CreateUserResponse, error)
	GetUser(ctx context.Context, id string) (*api.User, error)
	ListUsers(ctx context.Context, department string) ([]api.User, error)
	UpdateUser(ctx context.Context, actor, id string, req api.UpdateUserRequest) (*api.User, error)
	ResetPassword(ctx context.Context, actor, id string) (*api.ResetPasswordResponse, error)
	ResetTOTP(ctx context.Context, actor, id string) error
	Unlock(ctx context.Context, actor, id string) error
	ListDevices(ctx context.Context, userID string) ([]api.Device, error)
	RevokeDevice(ctx context.Context, actor, id string) (*api.Device, error)
	ApproveDevice(ctx context.Context, actor, id string) (*api.Device, error)
	Policy(ctx context.Context) api.Policy
	SetPolicy(ctx context.Context, actor string, up api.PolicyUpdate) (*api.Policy, error)
}

// Segments are the office PCs' network segments (三層分離) and the
// satellite offices My Number PCs may be used from (broker/terminal).
type Segments interface {
	SetSegment(ctx context.Context, actor, id string, req api.SetSegmentRequest) (api.Terminal, error)
	SatelliteOffices(ctx context.Context) ([]api.SatelliteOffice, error)
	PutSatelliteOffice(ctx context.Context, actor, id string, req api.PutSatelliteOfficeRequest) (api.SatelliteOffice, error)
	DeleteSatelliteOffice(ctx context.Context, actor, id string) error
	// CheckReach refuses (CodeSegmentRefused) a My Number PC from a
	// source outside the satellite offices, and records either outcome.
	CheckReach(ctx context.Context, userID, terminalID string, src netip.Addr, stage string) error
	// CheckReachPC is CheckReach of a PC the caller has read.
	CheckReachPC(ctx context.Context, userID string, t api.Terminal, src netip.Addr, stage string) error
}

// OperationLog is the uploaded and the broker's own operation log (broker/oplog).
type OperationLog interface {
	Ingest(ctx context.Context, callerDevice string, b api.OplogBatch) (api.OplogAck, error)
	// IngestEvidence takes a revoked laptop's journal, verified by its
	// device key alone (the lost-laptop response).
	IngestEvidence(ctx context.Context, b api.OplogBatch) (api.OplogAck, error)
	Search(ctx context.Context, q oplog.Query) (api.OplogPage, error)
	Export(ctx context.Context, q oplog.Query, format string, o csvexport.Options, w io.Writer) (int, error)
	Timeline(ctx context.Context, deviceID string, q oplog.Query) (api.OplogTimeline, error)
	Findings(ctx context.Context, deviceID, cursor string) (api.OplogFindingList, error)
	Holds(ctx context.Context) (api.OplogHoldList, error)
	PlaceHold(ctx context.Context, actor string, h api.OplogHold) (api.OplogHold, error)
	ReleaseHold(ctx context.Context, actor, kind, subject string) error
	Config(ctx context.Context) (api.OplogConfig, error)
	SetConfig(ctx context.Context, actor string, u api.OplogConfigUpdate) (api.OplogConfig, error)
}

// Terminals are the office PCs and their pairing (broker/terminal).
type Terminals interface {
	Create(ctx context.Context, actor string, req api.CreateTerminalRequest) (api.Terminal, error)
	Get(ctx context.Context, id string) (api.Terminal, error)
	List(ctx context.Context) ([]api.Terminal, error)
	Update(ctx context.Context, actor, id string, req api.UpdateTerminalRequest) (api.Terminal, error)
	Delete(ctx context.Context, actor, id string) error
	Pair(ctx context.Context, actor, id, userID string) (api.Terminal, error)
	ForUser(ctx context.Context, userID string) (api.Terminal, error)
}

// EventHub pushes events to each user's app over its socket (broker/events).
type EventHub interface {
	ServeSocket(ctx context.Context, s *events.Socket, c events.Client, after int64) error
	Publish(userID, typ string, data any)
	CloseUser(userID string)
}

// Tunnels carry RDP from the app to the office PC (broker/relay).
type Tunnels interface {
	Serve(w http.ResponseWriter, req *http.Request, h slots.Holder, slotID string) error
}

// Slots are the concurrency cap, the queue and the live sessions (broker/slots).
type Slots interface {
	// AcquirePaired is Acquire with the user's paired PC as the caller
	// read it (ForUser's answer, ErrNoTerminal for a pool user).
	AcquirePaired(ctx context.Context, h slots.Holder, device string, pc api.Terminal, pcErr error) (api.Slot, error)
	Mine(userID string) (api.Slot, error)
	Heartbeat(ctx context.Context, h slots.Holder, slotID string, hb api.HeartbeatRequest) (api.Slot, error)
	Release(ctx context.Context, h slots.Holder, slotID string) error
	End(ctx context.Context, actor, slotID, message string) error
	List() api.SessionList
	Counts() (cap, granted, queued int)
	InUse(terminalID string) bool
	PoolSize() int
	Policy() api.SlotConfig
	SetPolicy(ctx context.Context, actor string, up api.SlotConfigUpdate) (api.SlotConfig, error)
	// BCP mode (the slots' bcp.go).
	BCP() api.BCP
	Notice() *api.BCPNotice
	SetBCP(ctx context.Context, actor string, on bool, reason string) (api.BCP, error)
	ConfigureBCP(ctx context.Context, actor string, up api.BCPConfigUpdate) (api.BCP, error)
}

// Releases are the app's self-update: key lists, signed manifests and
// binaries (broker/release).
type Releases interface {
	KeyChain(ctx context.Context, after int) (api.KeyListChain, error)
	Manifest(ctx context.Context, channel, goos, arch string) (api.SignedDoc, error)
	Open(ctx context.Context, id string) (api.Release, io.ReadCloser, error)
	List(ctx context.Context) (api.ReleaseList, error)
	SetRollout(ctx context.Context, actor, id string, percent int) (api.Release, error)
	UpdateChannel(ctx context.Context, actor, name string, up api.ChannelUpdate) (api.ReleaseChannel, error)
}

// Chat is staff chat (broker/chat). Every method checks that the caller
// is in the channel it names.
type Chat interface {
	Channels(ctx context.Context, u api.User) (api.ChatChannelList, error)
	Channel(ctx context.Context, u api.User, id string) (api.ChatChannel, error)
	CreateGroup(ctx context.Context, u api.User, req api.ChatCreateGroup) (api.ChatChannel, error)
	Rename(ctx context.Context, u api.User, id string, req api.ChatRenameRequest) (api.ChatChannel, error)
	Direct(ctx context.Context, u api.User, req api.ChatDirectRequest) (api.ChatChannel, error)
	AddMembers(ctx context.Context, u api.User, id string, req api.ChatMembersRequest) (api.ChatChannel, error)
	Leave(ctx context.Context, u api.User, id string) error
	Send(ctx context.Context, u api.User, id string, req api.ChatSendRequest) (api.ChatMessage, error)
	Edit(ctx context.Context, u api.User, id string, seq int64, req api.ChatEditRequest) (api.ChatMessage, error)
	Delete(ctx context.Context, u api.User, id string, seq int64) (api.ChatMessage, error)
	History(ctx context.Context, u api.User, id string, after, before int64, limit int) (api.ChatHistory, error)
	MarkRead(ctx context.Context, u api.User, id string, seq int64) (api.ChatRead, error)
	SetMuted(ctx context.Context, u api.User, id string, muted bool) error
	Receipts(ctx context.Context, u api.User, id string) (api.ChatReceipts, error)
	Search(ctx context.Context, u api.User, q, channel string, limit int) (api.ChatSearchResult, error)
	People(ctx context.Context, u api.User, q string) (api.ChatPeople, error)
	Policy(ctx context.Context) api.ChatPolicy
	SetPolicy(ctx context.Context, actor string, up api.ChatPolicyUpdate) (api.ChatPolicy, error)
	SetStatus(ctx context.Context, u api.User, req api.ChatStatusRequest) (api.ChatPresence, error)
	PresenceList(ctx context.Context, u api.User, dept string, users []string) (api.ChatPresenceList, error)
	AdminChannels(ctx context.Context) (api.ChatChannelList, error)
	Export(ctx context.Context, actor, id, reason string, o csvexport.Options, w io.Writer) (int, error)
}

// Roster is the personnel roster import (broker/roster).
type Roster interface {
	DryRun(ctx context.Context, actor string, req api.RosterImportRequest) (api.RosterReport, error)
	Import(ctx context.Context, actor string, req api.RosterImportRequest) (api.RosterImport, error)
	Imports(ctx context.Context) (api.RosterImportList, error)
	Get(ctx context.Context, id string) (api.RosterImport, error)
	Cancel(ctx context.Context, actor, id string) (api.RosterImport, error)
}

// Telework is telework requests, approval, policy, holidays and the
// working-time record (broker/telework). Deciding and the section view
// check in the domain that the caller approves for that section.
type Telework interface {
	Request(ctx context.Context, u api.User, in api.TeleworkRequestCreate) (api.TeleworkRequest, error)
	Mine(ctx context.Context, u api.User) (api.TeleworkRequestList, error)
	Withdraw(ctx context.Context, u api.User, id string) (api.TeleworkRequest, error)
	Pending(ctx context.Context, u api.User, dept string) (api.TeleworkRequestList, error)
	Decide(ctx context.Context, u api.User, id string, d api.TeleworkDecision) (api.TeleworkRequest, error)
	SetStandIn(ctx context.Context, u api.User, req api.TeleworkStandIn) (api.TeleworkStandIn, error)
	StartWork(ctx context.Context, u api.User, in api.TeleworkWorkStart) (api.WorkDay, error)
	EndWork(ctx context.Context, u api.User) (api.WorkDay, error)
	Today(ctx context.Context, u api.User) (api.TeleworkToday, error)
	Section(ctx context.Context, u api.User, dept string) (api.TeleworkSection, error)
	Holidays(ctx context.Context, from, to string) (api.HolidayList, error)

	Policies(ctx context.Context) (api.TeleworkPolicyList, error)
	SetPolicy(ctx context.Context, actor string, p api.TeleworkPolicy) (api.TeleworkPolicy, error)
	PutHoliday(ctx context.Context, actor string, h api.Holiday) (api.Holiday, error)
	DeleteHoliday(ctx context.Context, actor, date string) error
	Approvers(ctx context.Context, dept string) (api.TeleworkApprovers, error)
	SetApprovers(ctx context.Context, actor, dept string, users []string) (api.TeleworkApprovers, error)
	Export(ctx context.Context, actor string, q api.TeleworkExportQuery, o csvexport.Options, w io.Writer) (int, error)
}

// Meetings are web meeting rooms, their join tokens and the SFU (broker/meet).
type Meetings interface {
	Create(ctx context.Context, host api.User, title string) (api.Room, error)
	Issue(ctx context.Context, roomID string, u api.User) (token string, room api.Room, expires time.Time, err error)
	// Join is Issue for a room that may be hosted by another broker on
	// the same database: then the token is good there, and Broker names it.
	Join(ctx context.Context, roomID string, u api.User) (meet.Join, error)
	// Redeem spends a join token: once, for its room, before it expires.
	Redeem(ctx context.Context, roomID, token string) (meet.Ticket, error)
	// Serve runs the signalling socket; host is the name the browser
	// reached the broker by (where it finds TURN too).
	Serve(ctx context.Context, conn *websocket.Conn, t meet.Ticket, host string) error
	// GuestLink makes an expiring guest link (host or IT only); Knock
	// turns one into a one-time lobby token; Door is the host's lobby
	// token ("" for anyone else); RedeemLobby spends a lobby token and
	// ServeLobby runs the lobby socket.
	GuestLink(ctx context.Context, roomID string, by api.User, name string, valid time.Duration) (api.GuestLink, string, error)
	Knock(ctx context.Context, roomID, link string) (api.Knock, error)
	Door(ctx context.Context, roomID string, u api.User) string
	RedeemLobby(ctx context.Context, roomID, token string) (meet.Ticket, error)
	ServeLobby(ctx context.Context, conn *websocket.Conn, t meet.Ticket) error
	// ForMeeting opens (or finds) a scheduled meeting's room; Rooms are
	// the "meet now" rooms u may see; MeetingRooms the running rooms of
	// the scheduled meetings among ids, on any broker.
	ForMeeting(ctx context.Context, m api.Meeting) (api.Room, error)
	Rooms(ctx context.Context, u api.User) ([]api.Room, error)
	MeetingRooms(ctx context.Context, ids []string) (map[string]api.Room, error)
	// LinkBase is where links into this broker's rooms point across
	// brokers (its own address); "" on one broker.
	LinkBase() string
}

// Schedule is scheduled meetings (broker/schedule).
type Schedule interface {
	Create(ctx context.Context, u api.User, req api.CreateMeetingRequest) (api.Meeting, error)
	List(ctx context.Context, u api.User) ([]api.Meeting, error)
	// ForJoin is the meeting u may join now (invited, not over).
	ForJoin(ctx context.Context, u api.User, id string) (api.Meeting, error)
}

// Reports are the usage reports and the what-if replay (broker/report).
type Reports interface {
	Usage(ctx context.Context, q report.Query) (api.UsageReport, error)
	WhatIf(ctx context.Context, q report.Query, capN int) (api.WhatIfReport, error)
}

func (d Domains) missing() string {
	for name, v := range map[string]any{"Audit": d.Audit, "Auth": d.Auth, "Oplog": d.Oplog,
		"Terminals": d.Terminals, "Events": d.Events, "Relay": d.Relay, "Slots": d.Slots,
		"Releases": d.Releases, "Chat": d.Chat, "Roster": d.Roster, "Telework": d.Telework,
		"Reports": d.Reports} {
		if v == nil {
			return name
		}
	}
	return ""
}
