package api

import "net/http"

// Codes of BCP mode and of a revoked laptop's evidence upload.
const (
	CodeBCPNotConfigured Code = "bcp_not_configured"
	CodeBCPNoChange      Code = "bcp_no_change"
	CodeEvidenceClosed   Code = "evidence_closed"
)

func init() {
	register(map[Code]CodeInfo{
		CodeBCPNotConfigured: {http.StatusConflict,
			"BCP mode has no cap configured. Set its cap and priority roles or departments first (broker admin bcp config --cap N), then switch it on.",
			"BCPモードの上限が設定されていません。先に上限と優先する役割・所属を設定し（broker admin bcp config --cap N）、それから有効にしてください。"},
		CodeBCPNoChange: {http.StatusConflict,
			"BCP mode is already in that state. Check it with broker admin bcp status.",
			"BCPモードは既にその状態です。broker admin bcp status で確認してください。"},
		CodeEvidenceClosed: {http.StatusForbidden,
			"This laptop may no longer upload its operation log: only a revoked laptop may, for a limited time after its revocation. Hand the laptop to IT.",
			"この端末は操作ログを送信できません（送信できるのは利用停止された端末の、停止後一定期間のみです）。端末を情報政策課へ提出してください。"},
	})
}
