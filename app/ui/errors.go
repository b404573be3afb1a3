package ui

import (
	"context"
	"errors"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// errorText is what the user reads for err: the broker's own message in the
// user's language (it says what to do next), or a generic "try again, then
// call the help desk" for anything that is not an *api.Error.
func errorText(tr *i18n.Tr, err error) string {
	if e := apiError(err); e != nil {
		return e.Localized(tr.Lang())
	}
	return tr.T(i18n.ErrUnexpected)
}

// apiError extracts the *api.Error; a timeout or dropped connection that
// never reached the broker counts as api.CodeNetwork.
func apiError(err error) *api.Error {
	if err == nil {
		return nil
	}
	if e := api.AsError(err); e != nil {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return api.Err(api.CodeNetwork, err.Error())
	}
	return nil
}

// errorCode is the code shown under a message (the help desk asks for it).
func errorCode(err error) string {
	if e := apiError(err); e != nil {
		return string(e.Code)
	}
	if err != nil {
		return codeAppError
	}
	return ""
}
