package cli

// commands is every `broker admin <noun> <verb>`, in the order help lists
// them: one table, as the routes are. Each run function lives in the file
// of its noun.
var commands = []command{
	{"login", "", "[--broker URL] [--pin sha256/...] [--otp CODE] STAFF_ID",
		"sign in to a running broker (password and one-time code); the commands below then use its REST API", needNothing, adminLogin},
	{"logout", "", "", "end the admin session", needNothing, adminLogout},
	{"whoami", "", "", "whom the admin session is for, and which broker", needNothing, adminWhoami},

	{"users", "create", "[--admin] [--supervisor] [--auditor] [--dept-admin] --name NAME [--department D] ID",
		"create a member of staff; prints a temporary password (changed at first login)", needAuth, usersCreate},
	{"users", "list", "[--department D] [--json]", "list staff", needAuth, usersList},
	{"users", "reset-password", "ID", "temporary password; forced change at next sign-in", needAuth, usersResetPassword},
	{"users", "reset-totp", "ID", "remove the one-time code authenticator (lost phone)", needAuth, byID("reset-totp", usersResetTOTP)},
	{"users", "unlock", "ID", "clear a lockout after failed sign-ins", needAuth, byID("unlock", usersUnlock)},
	{"users", "disable", "ID", "disable an account and end its sessions", needAuth, byID("disable", usersDisable)},
	{"users", "enable", "ID", "enable a disabled account", needAuth, byID("enable", usersEnable)},
	{"users", "otp-code", "ID", "current one-time code of a DEMO account (refused for real ones)", needAuth, usersOTPCode},

	{"devices", "list", "[--user ID] [--json]", "enrolled laptops", needAuth, devicesList},
	{"devices", "revoke", "ID", "block a lost laptop; its tokens stop working at once", needAuth, byID("revoke", devicesRevoke)},
	{"devices", "approve", "ID", "approve a laptop waiting for approval", needAuth, byID("approve", devicesApprove)},

	{"policy", "show", "", "the security policy in force", needAuth, policyShow},
	{"policy", "set", `--change '{"require_totp":false,"reason":"..."}'`,
		"change the policy; relaxing the LGWAN profile needs a reason", needAuth, policySet},

	{"terminals", "create", "--name NAME --address HOST [--port 3389] [--mac MAC] [--wake-addr BCAST] [--wake-port 9] [--department D] [--user ID | --pool] [ID]",
		"register an office PC (paired with --user, or shared with --pool)", needTerminals, terminalsCreate},
	{"terminals", "list", "[--json]", "office PCs and whom they are paired with", needTerminals, terminalsList},
	{"terminals", "pair", "ID STAFF_ID", "pair an office PC with a member of staff", needTerminals, terminalsPair},
	{"terminals", "unpair", "ID", "unpair an office PC", needTerminals, byID("unpair", terminalsUnpair)},
	{"terminals", "delete", "ID", "remove an office PC", needTerminals, byID("delete", terminalsDelete)},

	{"roster", "import", "FILE [--dry-run] [--effective 2027-04-01] [--encoding auto|utf-8|shift_jis] [--disable-missing] [--all] [--json]",
		"load the personnel roster CSV: a dry run lists what changes line by line; an import applies it now or on its effective date", needRoster, rosterImport},
	{"roster", "list", "[--json]", "roster imports: pending, applied, cancelled, failed", needRoster, rosterList},
	{"roster", "cancel", "ID", "cancel a pending roster import before its date", needRoster, byID("cancel", rosterCancel)},

	{"cap", "show", "", "the concurrency cap and session policy", needSlotStore, capShow},
	{"cap", "set", "N [--idle MIN] [--max MIN] [--warn MIN]",
		"set the concurrency cap (and policy); a running broker applies it within seconds", needSlotStore, capSet},
	{"rdp", "set", "none | LIST", rdpSetHelp, needSlotStore, rdpSet},
	{"sessions", "list", "[--json]", "live sessions and the queue", needSlotStore, sessionsList},
	{"sessions", "end", "SLOT_ID [--reason TEXT]",
		"end a live session or queued request; the user is told the reason", needSlotStore, sessionsEnd},

	{"oplog", "search", "[--user U] [--device D] [--department X] [--type T] [--from F] [--to T] [--limit N] [--json]",
		"search operation logs, newest first", needOplog, oplogSearch},
	{"oplog", "export", "[--format csv|jsonl] [--out FILE] [filters as for search]",
		"export matching operation logs, oldest first (CSV is UTF-8 with BOM for Excel)", needOplog, oplogExport},
	{"oplog", "timeline", "[--from F] [--to T] [--limit N] [--json] DEVICE",
		"one laptop's events in order, with findings (lost-laptop case)", needOplog, oplogTimeline},
	{"oplog", "findings", "[--device D] [--json]", "gaps, broken chains and conflicts found in uploaded logs", needOplog, oplogFindings},
	{"oplog", "hold", "--kind user|device --reason TEXT SUBJECT", "legal hold: never purge this user's or device's logs", needOplog, oplogHold},
	{"oplog", "unhold", "KIND SUBJECT", "release a legal hold", needOplog, oplogUnhold},
	{"oplog", "holds", "", "list legal holds", needOplog, oplogHolds},
	{"oplog", "retention", "[--days N --reason TEXT]", "show or change the retention period", needOplog, oplogRetention},

	{"release", "online-key", "[--new]",
		"the broker's online key that signs manifests (--new makes one); add it to a key list", needReleases, releaseOnlineKey},
	{"release", "keys", "FILE [--sig FILE.minisig]",
		"add a key list signed with a root key (minisign -S -s root.key -m FILE)", needReleases, releaseKeys},
	{"release", "publish", "--version V --os linux|windows|darwin --arch amd64|arm64 [--channel stable] [--rollout 100] [--sig FILE.minisig] FILE",
		"publish a binary signed with a release key (minisign -S -s release.key -m FILE)", needReleases, releasePublish},
	{"release", "list", "[--json]", "releases, rollouts, pins and keys", needReleases, releaseList},
	{"release", "rollout", "ID PERCENT", "raise or lower a staged rollout; 0 halts it", needReleases, releaseRollout},
	{"release", "pin", "CHANNEL VERSION|none", "every device on the channel is offered this version (wins over rollouts)", needReleases, releasePin},
	{"release", "minimum", "CHANNEL VERSION|none", "apps below this version must update before they may connect", needReleases, releaseMinimum},
	{"release", "sign", "", "re-sign every manifest now (the broker also does so on a schedule)", needReleases, releaseSign},

	{"chat", "channels", "[--json]", "every chat channel with its members", needChat, chatChannels},
	{"chat", "export", "--reason TEXT [--out FILE] CHANNEL_ID",
		"a channel's whole record as CSV for an inquiry (Japanese headers, UTF-8 with BOM); recorded with the reason", needChat, chatExport},

	{"telework", "export", "--from YYYY-MM-DD --to YYYY-MM-DD [--department D] [--out FILE]",
		"HR's working-time record per person per day as CSV (Japanese headers, UTF-8 with BOM); recorded", needTelework, teleworkExport},
	{"telework", "policies", "[--json]", "each department's telework policy (departments not listed are free)", needTelework, teleworkPolicies},
	{"telework", "policy", "--mode free|notice|approval [--hours 07:00-22:00] [--warn MIN] [--disconnect] [--work 08:30-17:15] DEPARTMENT",
		"set a department's telework policy", needTelework, teleworkPolicy},
	{"telework", "holidays", "[--from D] [--to D] [--json]", "the holiday calendar", needTelework, teleworkHolidays},
	{"telework", "holiday", "[--municipal] [--remove] DATE [NAME]", "add, rename or (--remove) remove a day off", needTelework, teleworkHoliday},
	{"telework", "approvers", "DEPARTMENT [STAFF_ID...]", "show or name a department's approvers beside its supervisors", needTelework, teleworkApprovers},
}
