package api

import "net/http"

// Codes of releases and self-update.
const (
	// CodeReleaseNotFound: no release, manifest or artifact by that name.
	CodeReleaseNotFound Code = "release_not_found"
	// CodeReleaseUnavailable: the broker cannot sign manifests yet (no
	// online key, or one the key list does not name).
	CodeReleaseUnavailable Code = "release_unavailable"
	// CodeReleaseRefused: IT's publish was refused (bad signature,
	// unknown or retired key, older than what is published).
	CodeReleaseRefused Code = "release_refused"
	// CodeKeyListRefused: a key list that does not chain from the last one.
	CodeKeyListRefused Code = "release_keys_refused"
)

func init() {
	register(map[Code]CodeInfo{
		CodeReleaseNotFound: {http.StatusNotFound,
			"No such release. Check the version, channel, OS and architecture with `broker admin release list`.",
			"該当するリリースがありません。`broker admin release list` でバージョン、チャネル、OS、アーキテクチャを確認してください。"},
		CodeReleaseUnavailable: {http.StatusServiceUnavailable,
			"Updates are not available yet: the broker has no online signing key the key list names. IT: run `broker admin release online-key` and add its key to a signed key list.",
			"更新はまだ利用できません。ブローカーに鍵リストで認められたオンライン署名鍵がありません。情報政策課: `broker admin release online-key` を実行し、その鍵を署名済みの鍵リストに追加してください。"},
		CodeReleaseRefused: {http.StatusUnprocessableEntity,
			"The release was refused. Sign the file with a release key named in the current key list, and publish a version newer than the ones published.",
			"リリースを受け付けませんでした。現在の鍵リストにあるリリース鍵でファイルに署名し、公開済みより新しいバージョンを公開してください。"},
		CodeKeyListRefused: {http.StatusUnprocessableEntity,
			"The key list was refused. It must carry the next serial number and be signed with a root key of the current list, and must not bring back a retired key.",
			"鍵リストを受け付けませんでした。次の通し番号を持ち、現在のリストのルート鍵で署名され、失効した鍵を含まないものにしてください。"},
	})
}
