package api

import "net/http"

// Codes of the roster import.
const (
	CodeRosterInvalid    Code = "roster_invalid"
	CodeRosterNotPending Code = "roster_not_pending"
)

func init() {
	register(map[Code]CodeInfo{
		CodeRosterInvalid: {http.StatusUnprocessableEntity,
			"The roster has problems and nothing was changed. Fix the lines named (a dry run lists them all) and load it again.",
			"名簿に問題があるため、何も変更していません。示された行を直して(試行で全件を確認できます)、もう一度読み込んでください。"},
		CodeRosterNotPending: {http.StatusConflict,
			"This roster import is no longer waiting for its date: it was applied or cancelled. Load a new roster to change it.",
			"この名簿の読み込みは、すでに反映済みか取り消し済みです。変更するには新しい名簿を読み込んでください。"},
	})
}
