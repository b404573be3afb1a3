package api

import "time"

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
}

// MeetSignal is one message on a room's signalling socket, in both
// directions; Type says which fields are set.
type MeetSignal struct {
	Type string `json:"type"` // offer (once, first, or ready), answer, candidate, media, view, receive, chat, host, leave (page); welcome, joined, left, media, offer, answer, candidate, chat, speaker, muted, removed, room, ended, error (broker)
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
	Host   bool   `json:"host,omitempty"` // the room's host: the page offers them the host's controls
}
