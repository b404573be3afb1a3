package api

import "net/http"

// Codes of network segments (三層分離).
const (
	CodeSegmentRefused Code = "segment_refused"
)

func init() {
	register(map[Code]CodeInfo{
		CodeSegmentRefused: {http.StatusForbidden,
			"This office PC is in the My Number segment (個人番号利用事務系): it can be used only from a satellite office IT has registered, never from home. Connect from a satellite office, or ask IT if you are at one and still see this.",
			"この庁内パソコンは個人番号利用事務系にあるため、情報政策課が登録したサテライトオフィスからのみ利用できます(自宅からは利用できません)。サテライトオフィスから接続してください。サテライトオフィスにいるのにこの表示が出る場合は情報政策課に連絡してください。"},
	})
}
