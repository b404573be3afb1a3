package api

import (
	"encoding/json"
	"strings"
	"time"
)

// CreateRoomRequest starts a meeting ("meet now").
type CreateRoomRequest struct {
	Title string `json:"title,omitempty"` // shown in the page; empty: the host's name
}

// Room is a meeting room as the API shows it.
type Room struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	CreatedBy    string    `json:"created_by"` // staff ID of the host
	CreatedAt    time.Time `json:"created_at"`
	Participants int       `json:"participants"`
	Capacity     int       `json:"capacity"`
	// Locked: the host let no one else in (those inside stay).
	Locked bool `json:"locked,omitempty"`
	// Department is the host's: "meet now" rooms are listed to it.
	Department string `json:"department,omitempty"`
	// MeetingID is the scheduled meeting this room is for, if any.
	MeetingID string `json:"meeting_id,omitempty"`
}

// MeetJoin is a one-time way into one room for one person: the token is
// good for one signalling connection, within ExpiresAt.
type MeetJoin struct {
	Room      Room      `json:"room"`
	Token     string    `json:"token"`
	URL       string    `json:"url"` // the meeting page, with the token in the fragment
	ExpiresAt time.Time `json:"expires_at"`
	// Broker is the base URL of the broker that hosts the room, when it
	// is not the one asked (several brokers on one database): URL and
	// the signalling socket are there, and the token is good there only.
	Broker string `json:"broker,omitempty"`
	// LobbyToken is the host's: one connection to the room's lobby
	// socket, where guests who knock are admitted or declined.
	LobbyToken string `json:"lobby_token,omitempty"`
}

// MeetSignal is one message on a room's signalling socket, in both
// directions; Type says which fields are set.
type MeetSignal struct {
	Type string `json:"type"` // offer (once, first, or ready), answer, candidate, media, screen, view, receive, chat, host, leave (page); welcome, joined, left, media, offer, answer, candidate, chat, speaker, muted, removed, room, ended, error (broker)
	SDP  string `json:"sdp,omitempty"`
	// Candidate is an RTCIceCandidateInit as the browser sends it.
	Candidate *MeetCandidate `json:"candidate,omitempty"`
	// Participant is who joined, left or changed their media.
	Participant *MeetParticipant `json:"participant,omitempty"`
	// Participants are the others already in the room (welcome).
	Participants []MeetParticipant `json:"participants,omitempty"`
	Room         *Room             `json:"room,omitempty"`
	// Audio and Video are the sender's own camera and mic state (media).
	Audio *bool `json:"audio,omitempty"`
	Video *bool `json:"video,omitempty"`
	// Screen is whether the sender shares its screen (screen), a video
	// track beside its camera.
	Screen *bool `json:"screen,omitempty"`
	// ScreenMid names, in a broker's offer, the transceiver on which the
	// page sends its screen: the broker's receive-only one, which the
	// page's answer makes send-only with the screen's track.
	ScreenMid string `json:"screen_mid,omitempty"`
	// ICEServers are the TURN servers the page's peer connection uses
	// (welcome), with credentials good while the participant is in.
	ICEServers []MeetICEServer `json:"ice_servers,omitempty"`
	// Error is set on type error: the code and both languages.
	Error *Error `json:"error,omitempty"`
	// Action is the host's (host): mute or remove Target, lock or unlock
	// the room, end it for all.
	Action string `json:"action,omitempty"`
	// Target is the participant ID a host action is for.
	Target string `json:"target,omitempty"`
	// Text is an in-meeting chat message (chat), kept by no one: the
	// pages show it while the meeting lasts.
	Text string `json:"text,omitempty"`
	// Sent is when the broker passed a chat message on.
	Sent time.Time `json:"sent,omitzero"`
	// Views are the tiles the page draws the others' video in (view):
	// the broker forwards each publisher's simulcast layer that fits.
	Views []MeetView `json:"views,omitempty"`
	// Token is an admitted guest's join token (admitted, lobby socket).
	Token string `json:"token,omitempty"`
}

// MeetView is one publisher's tile in a page (view): its size in CSS
// pixels, and optionally the layer wanted outright (q, h or f: a quarter,
// half or full resolution), which the broker still lowers to what the
// subscriber's line affords. Type speaker names the dominant speaker in
// Target; type receive with video false asks for audio only.
type MeetView struct {
	Participant string `json:"participant"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Layer       string `json:"layer,omitempty"`
}

// Host actions (MeetSignal.Action).
const (
	MeetMute   = "mute"
	MeetRemove = "remove"
	MeetLock   = "lock"
	MeetUnlock = "unlock"
	MeetEnd    = "end"
)

// MaxMeetChat bounds one in-meeting chat message, in characters.
const MaxMeetChat = 1000

// MeetICEServer is an RTCIceServer.
type MeetICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// MeetCandidate is an ICE candidate (RTCIceCandidateInit).
type MeetCandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// MeetParticipant is one person in a room. Their media streams carry
// the participant ID as the stream ID, which is how a page knows whose
// tile a track belongs to.
type MeetParticipant struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	UserID string `json:"user_id,omitempty"`
	Audio  bool   `json:"audio"`
	Video  bool   `json:"video"`
	// Screen: the broker forwards their screen (stream ID "<id>.screen").
	Screen bool `json:"screen,omitempty"`
	Host   bool `json:"host,omitempty"` // the room's host: the page offers them the host's controls
	// Guest: an outside party let in through a guest link (the page
	// badges the tile ゲスト). Always set from the user ID when sent.
	Guest bool `json:"guest,omitempty"`
}

// GuestUserPrefix begins the user ID of a meeting guest: an outside
// party with no account, let in through a guest link. Staff IDs cannot
// contain ':' (auth.ValidateID), so no staff member is ever taken for a
// guest or the other way round.
const GuestUserPrefix = "guest:"

// IsGuest reports whether the participant came in through a guest link.
func (p MeetParticipant) IsGuest() bool { return strings.HasPrefix(p.UserID, GuestUserPrefix) }

// MarshalJSON adds "guest": true for guests, derived from the user ID so
// that no code path can forget to mark one (the page shows ゲスト).
func (p MeetParticipant) MarshalJSON() ([]byte, error) {
	type plain MeetParticipant
	p.Guest = p.IsGuest()
	return json.Marshal(plain(p))
}

// CreateGuestLinkRequest asks for a guest link into a running room.
type CreateGuestLinkRequest struct {
	// Name is the guest's as the host and the room will see it
	// (e.g. "株式会社サンプル 田中様"); the guest cannot change it.
	Name string `json:"name"`
	// ValidMinutes is how long the link may be used to knock (default
	// 60, at most MaxGuestLinkMinutes).
	ValidMinutes int `json:"valid_minutes,omitempty"`
}

// MaxGuestLinkMinutes bounds a guest link's life: one working day.
const MaxGuestLinkMinutes = 24 * 60

// GuestLink is a way for one outside party to knock on a room's door.
// It may be opened again until it expires (a reload, a second try);
// each knock waits in the lobby until the host admits or declines it.
type GuestLink struct {
	ID        string    `json:"id"`
	Room      Room      `json:"room"`
	Name      string    `json:"name"`
	URL       string    `json:"url"` // the meeting page, with the link in the fragment
	ExpiresAt time.Time `json:"expires_at"`
}

// KnockRequest is a guest's page knocking with its guest link.
type KnockRequest struct {
	Link string `json:"link"`
}

// Knock is a one-time ticket to wait in a room's lobby.
type Knock struct {
	Room      Room      `json:"room"`
	Name      string    `json:"name"`
	Token     string    `json:"token"` // for the lobby socket: one connection, a few minutes
	ExpiresAt time.Time `json:"expires_at"`
	// Broker, instead of a token, is the base URL of the broker that
	// hosts the room, when the knock reached another one (a link to the
	// shared address): the page knocks again there, with its link.
	Broker string `json:"broker,omitempty"`
}

// Lobby messages (MeetSignal.Type on the lobby socket).
const (
	LobbyWaiting  = "waiting"  // to a guest: you are in the lobby
	LobbyAdmitted = "admitted" // to a guest: Token is your join token
	LobbyDeclined = "declined" // to a guest: the host said no
	LobbyList     = "lobby"    // to the host: Participants are who waits
	LobbyAdmit    = "admit"    // from the host: let Target in
	LobbyDecline  = "decline"  // from the host: send Target away
)

// CreateMeetingRequest schedules a meeting.
type CreateMeetingRequest struct {
	Title    string    `json:"title"`
	StartsAt time.Time `json:"starts_at"`
	// EndsAt is optional: without it a meeting counts as running for
	// MeetingOpenFor after its start.
	EndsAt time.Time `json:"ends_at,omitzero"`
	// Invitees are staff IDs from outside the organizer's department
	// (the department sees its meetings anyway); at most MaxInvitees.
	Invitees []string `json:"invitees,omitempty"`
}

// MaxInvitees bounds a scheduled meeting's invitee list.
const MaxInvitees = 100

// MeetingOpenFor is how long a meeting without an end counts as
// running after its start.
const MeetingOpenFor = 2 * time.Hour

// Meeting is a scheduled meeting. Its room opens when the first
// participant joins; the organizer is the room's host.
type Meeting struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at,omitzero"`
	Department string    `json:"department,omitempty"` // the organizer's
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	Invitees   []string  `json:"invitees,omitempty"`
	// Room is the meeting's room while it runs (who is in).
	Room *Room `json:"room,omitempty"`
}

// Ends is when the meeting stops being listed: its end, or
// MeetingOpenFor after its start.
func (m Meeting) Ends() time.Time {
	if !m.EndsAt.IsZero() {
		return m.EndsAt
	}
	return m.StartsAt.Add(MeetingOpenFor)
}

// MeetingList is what a member of staff may join: scheduled meetings of
// their department or to which they are invited, upcoming or running,
// by start; and the rooms running now in their department ("meet now").
type MeetingList struct {
	Meetings []Meeting `json:"meetings"`
	Rooms    []Room    `json:"rooms"`
}
