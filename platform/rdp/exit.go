package rdp

import "fmt"

// Exit is what an RDP client's exit code says about how its session
// ended. Most ends are normal (the user closed the window or signed out
// of the office PC); only ExitFailed and ExitAuthFailed are failures.
type Exit int

const (
	// ExitClosed: the client's window was closed, or the client's code
	// says nothing more (mstsc and Windows App always exit this way).
	ExitClosed Exit = iota
	// ExitDisconnected: the user chose Disconnect inside the office PC's
	// session; their programs there keep running.
	ExitDisconnected
	// ExitSignedOut: the user signed out of the office PC.
	ExitSignedOut
	// ExitEndedByTerminal: the office PC ended the connection: its
	// administrator, another connection taking the session (someone
	// signing in at the desk), or its own idle or logon time limit.
	ExitEndedByTerminal
	// ExitNetwork: the connection to the office PC broke or could not be
	// made.
	ExitNetwork
	// ExitAuthFailed: the office PC refused the sign-in (wrong password,
	// locked or expired account, no right to sign in remotely).
	ExitAuthFailed
	// ExitFailed: the client failed (arguments, protocol, licence, memory,
	// or a code nobody documents).
	ExitFailed
)

var exitNames = [...]string{"closed", "disconnected", "signed_out", "ended_by_terminal", "network", "auth_failed", "failed"}

func (e Exit) String() string {
	if int(e) < len(exitNames) {
		return exitNames[e]
	}
	return fmt.Sprintf("exit(%d)", int(e))
}

// Normal reports whether the end is one a user causes or expects, not a
// failure to be shown with an error code.
func (e Exit) Normal() bool { return e != ExitFailed && e != ExitAuthFailed }

// XFreeRDPExit reads an exit code of xfreerdp (FreeRDP 2.x, the Debian 12
// package freerdp2-x11). xfreerdp passes the server's disconnect reason
// (MS-RDPBCGR 2.2.5.1.1, ERRINFO_*) through as its exit code when it is
// 0x00..0x0C, maps licence errors to 16..26 and protocol errors to 32, and
// has its own codes from 128 (client/X11/xfreerdp.h, XF_EXIT_*). Closing
// the window ends the loop without error info: 0.
func XFreeRDPExit(code int) Exit {
	switch {
	case code == 0: // XF_EXIT_SUCCESS: window closed (or SIGTERM from us)
		return ExitClosed
	case code == 1: // XF_EXIT_DISCONNECT: ERRINFO_RPC_INITIATED_DISCONNECT, an admin tool
		return ExitEndedByTerminal
	case code == 2, code == 12: // XF_EXIT_LOGOFF (also a user logoff on old servers); ERRINFO_LOGOFF_BY_USER
		return ExitSignedOut
	case code == 3, code == 4, code == 5: // server idle timeout, logon timeout, replaced by another connection
		return ExitEndedByTerminal
	case code == 11: // XF_EXIT_DISCONNECT_BY_USER: Disconnect chosen in the session
		return ExitDisconnected
	case code == 7, code == 8, code == 9: // connection denied (also FIPS), no right to sign in remotely
		return ExitAuthFailed
	case code == 131, code == 139, code == 140, code == 141, code == 142, code == 147:
		// connection failed, DNS error, DNS name not found, connect
		// failed, MCS connect-initial error, transport failed
		return ExitNetwork
	case code == 132, code == 134, code == 135, code >= 148 && code <= 159:
		// authentication failure, logon failure, account locked out,
		// password expired or must change, KDC unreachable, account
		// disabled, revoked, wrong password, access denied, account
		// restriction or expired, logon type not granted, no credentials
		return ExitAuthFailed
	case code == 144: // insufficient privileges
		return ExitAuthFailed
	}
	// 6 (out of memory), 10 (fresh credentials), 16..26 (licence),
	// 32 (protocol), 128..130, 133, 136..138, 143, 145, 255 and anything
	// undocumented.
	return ExitFailed
}

// MstscExit reads an exit code of mstsc.exe. mstsc shows the reason for an
// end in its own dialog and exits 0 whatever it was (the reason goes to the
// event log, Microsoft-Windows-TerminalServices-RDPClient/Operational,
// not to the exit code); a non-zero code means it did not run (a .rdp file
// it could not read, a policy that forbids it).
func MstscExit(code int) Exit {
	if code == 0 {
		return ExitClosed
	}
	return ExitFailed
}

// WindowsAppExit reads the exit code of `open -W -n -a "Windows App"`:
// open waits for the app to quit and exits 0 however the session ended;
// 1 when it could not open the app or the file.
func WindowsAppExit(code int) Exit {
	if code == 0 {
		return ExitClosed
	}
	return ExitFailed
}

// ExitOf reads an exit code of this OS's client (the one Launch runs).
func ExitOf(code int) Exit { return exitOf(code) }
