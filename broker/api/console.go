package api

// ConsoleLoginRequest is POST /console/v1/login: the admin console's
// sign-in, always with a one-time code.
type ConsoleLoginRequest struct {
	StaffID  string `json:"staff_id"`
	Password string `json:"password"`
	OTP      string `json:"otp"`
}

// ConsoleSession is the signed-in console: who, the CSRF token the page
// sends on every change (X-Zaitaku-CSRF), and the idle sign-out.
type ConsoleSession struct {
	User        User   `json:"user"`
	CSRFToken   string `json:"csrf_token"`
	IdleSeconds int    `json:"idle_seconds"`
}
