package ui

import (
	"context"
	"errors"
	"time"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// errorText is what the user reads for err: the broker's own message in the
// user's language (it says what to do next), or a generic "try again, then
// call the help desk" for anything that is not an *api.Error.
func errorText(tr *i18n.Tr, err error) string {
	if e := apiError(err); e != nil {
		msg := e.Localized(tr.Lang())
		if e.RetryAfter > 0 {
			// "Wait until the time shown": show it (lockouts, rate limits).
			msg += sep(tr) + tr.T(i18n.ErrRetryAfter, i18n.Minutes(time.Duration(e.RetryAfter)*time.Second))
		}
		return msg
	}
	return tr.T(i18n.ErrUnexpected)
}

// sep joins two sentences: Japanese runs them on, English needs a space.
func sep(tr *i18n.Tr) string {
	if tr.Lang() == i18n.English {
		return " "
	}
	return ""
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
