package ui

import "github.com/zaitaku/zaitaku/broker/api"

// LoginStep is where a login stands after a call: done (api.StageOK), or a
// step the broker requires first (api.StageEnrollTOTP, api.StageChangePassword).
// It has core.LoginStep's shape; it becomes an alias once app/core declares it.
type LoginStep struct {
	Stage         string
	Enrollment    *api.TOTPEnrollment
	PasswordRules string
}
