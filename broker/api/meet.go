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
}

// MeetJoin is a one-time way into one room for one person: the token is
// good for one signalling connection, within ExpiresAt.
type MeetJoin struct {
	Room      Room      `json:"room"`
	Token     string    `json:"token"`
	URL       string    `json:"url"` // the meeting page, with the token in the fragment
	ExpiresAt time.Time `json:"expires_at"`
}

// MeetSignal is one message on a room's signalling socket, in both
// directions; Type says which fields are set.
type MeetSignal struct {
	Type string `json:"type"` // answer, candidate, media, leave (page); welcome, joined, left, media, offer, candidate, error (broker)
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
}

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
}
