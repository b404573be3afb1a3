package api

import "net/http"

// Codes of the RDP tunnel.
const (
	// CodeTunnelUpgrade: the request was not a tunnel upgrade (an old or
	// foreign client, or a proxy that strips Upgrade headers).
	CodeTunnelUpgrade Code = "tunnel_upgrade_required"
	// CodeTunnelTarget: the request tried to choose where the broker
	// connects. The broker only ever connects to the paired office PC.
	CodeTunnelTarget Code = "tunnel_target_refused"
	// CodeTunnelUnreachable: the office PC did not accept the connection.
	CodeTunnelUnreachable Code = "tunnel_pc_unreachable"
	// CodeTunnelLimit: too many tunnel connections for one session.
	CodeTunnelLimit Code = "tunnel_limit"
	// CodeTunnelBinding: the tunnel request was not signed for the TLS
	// connection it arrived on (the app is too old to sign, or something
	// between the app and the broker holds the TLS connection: a
	// TLS-inspecting proxy), or the broker has no TLS of its own and IT
	// has not allowed unbound tunnels.
	CodeTunnelBinding Code = "tunnel_binding_failed"
)

func init() {
	register(map[Code]CodeInfo{
		CodeTunnelUpgrade: {http.StatusBadRequest,
			"The connection to the office PC could not be set up. Update the app; if a proxy is in between, ask IT to let Upgrade requests through.",
			"職場のパソコンへの接続を準備できませんでした。アプリを更新してください。プロキシを経由している場合は、Upgrade 要求を通すよう情報政策課に依頼してください。"},
		CodeTunnelTarget: {http.StatusForbidden,
			"The broker only connects you to your own office PC. Use the Connect button in the app.",
			"ブローカーはご自身の職場のパソコンにのみ接続します。アプリの「接続」ボタンを使ってください。"},
		CodeTunnelUnreachable: {http.StatusBadGateway,
			"Your office PC does not answer. It may be off or still starting: wait a minute and connect again; if it keeps failing, ask a colleague or IT to check the PC.",
			"職場のパソコンが応答しません。電源が切れているか起動中の可能性があります。1分ほど待ってから再度接続してください。続く場合は同僚または情報政策課にPCの確認を依頼してください。"},
		CodeTunnelLimit: {http.StatusTooManyRequests,
			"Too many connections to the office PC are open. Close other remote desktop windows and try again.",
			"職場のパソコンへの接続が多すぎます。他のリモートデスクトップ画面を閉じてから、もう一度お試しください。"},
		CodeTunnelBinding: {http.StatusForbidden,
			"The connection to the broker is not the one the app opened: something on this network (for example a security proxy that inspects encrypted traffic) sits in between. Connect from another network, or ask IT to exempt the broker from TLS inspection. If the app is old, update it.",
			"ブローカーへの接続が、アプリが開いた接続と一致しません。このネットワーク上の機器（暗号化通信を検査するセキュリティプロキシなど）が間に入っています。別のネットワークから接続するか、ブローカーをTLS検査の対象外にするよう情報政策課に依頼してください。アプリが古い場合は更新してください。"},
	})
}
