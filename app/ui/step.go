package ui

import "github.com/zaitaku/zaitaku/app/core"

// LoginStep is where a login stands after a call: done (api.StageOK), or a
// step the broker requires first (api.StageEnrollTOTP, api.StageChangePassword).
type LoginStep = core.LoginStep
