package api

import "net/http"

// Codes of telework requests, approval and the working-time record.
const (
	CodeTeleworkApprovalRequired Code = "telework_approval_required"
	CodeTeleworkApprovalPending  Code = "telework_approval_pending"
	CodeTeleworkNoticeRequired   Code = "telework_notice_required"
	CodeTeleworkOutsideHours     Code = "telework_outside_hours"
	CodeTeleworkNoRequest        Code = "telework_request_not_found"
	CodeTeleworkNotApprover      Code = "telework_not_approver"
	CodeTeleworkOwnRequest       Code = "telework_own_request"
	CodeTeleworkDecided          Code = "telework_already_decided"
	CodeTeleworkStarted          Code = "telework_already_started"
	CodeTeleworkDayOff           Code = "telework_day_off"
	CodeTeleworkOverlap          Code = "telework_overlap"
)

func init() {
	register(map[Code]CodeInfo{
		CodeTeleworkApprovalRequired: {http.StatusForbidden,
			"Your department needs your supervisor's approval to telework today. In Zaitaku, open Telework requests, ask for today (a same-day request is allowed), and press Connect once it is approved.",
			"所属ではテレワークに所属長の承認が必要です。在宅アプリの「テレワーク申請」から本日分を申請し（当日申請もできます）、承認されてから「接続」を押してください。"},
		CodeTeleworkApprovalPending: {http.StatusForbidden,
			"Your telework request for today is waiting for approval. Press Connect again once your supervisor (or their stand-in) approves it; you are told in the app.",
			"本日のテレワーク申請は承認待ちです。所属長（または代理承認者）が承認するとアプリでお知らせしますので、その後もう一度「接続」を押してください。"},
		CodeTeleworkNoticeRequired: {http.StatusForbidden,
			"Your department asks for a telework notice first. In Zaitaku, open Telework requests and send one for today; you can connect at once after it.",
			"所属ではテレワークの事前届出が必要です。在宅アプリの「テレワーク申請」から本日分を届け出てください。届出後すぐに接続できます。"},
		CodeTeleworkOutsideHours: {http.StatusForbidden,
			"Telework is allowed only within your department's hours. Connect again within them, or ask your supervisor.",
			"所属で定められたテレワーク可能時間外です。時間内にもう一度接続するか、所属長に相談してください。"},
		CodeTeleworkNoRequest: {http.StatusNotFound,
			"No such telework request. Reload the list of requests.",
			"このテレワーク申請はありません。申請一覧を更新してください。"},
		CodeTeleworkNotApprover: {http.StatusForbidden,
			"You are not an approver of this section's telework requests. Only its supervisor, an approver IT named, or their stand-in can decide.",
			"この所属のテレワーク申請を承認する権限がありません。所属長、情報政策課が指定した承認者、またはその代理承認者のみが承認できます。"},
		CodeTeleworkOwnRequest: {http.StatusForbidden,
			"You cannot decide your own telework request. It goes to another approver of your section.",
			"ご自身のテレワーク申請は承認できません。所属の他の承認者が承認します。"},
		CodeTeleworkDecided: {http.StatusConflict,
			"This request has already been decided or withdrawn. Reload the list of requests.",
			"この申請は既に処理済みか取り下げられています。申請一覧を更新してください。"},
		CodeTeleworkStarted: {http.StatusConflict,
			"This request has already started and can no longer be withdrawn. Ask your supervisor to change it.",
			"この申請は既に開始しているため取り下げできません。変更は所属長に相談してください。"},
		CodeTeleworkDayOff: {http.StatusUnprocessableEntity,
			"That date is a day off (weekend or holiday). Choose working days.",
			"指定した日は休日（土日・祝日）です。勤務日を指定してください。"},
		CodeTeleworkOverlap: {http.StatusConflict,
			"You already have a telework request for one of these days. Withdraw it first or choose other days.",
			"指定した日に既にテレワーク申請があります。先に取り下げるか、別の日を指定してください。"},
	})
}
