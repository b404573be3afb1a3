package rdp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The exit codes of the clients that cannot run here (mstsc, Windows
// App) and of xfreerdp are pinned in golden files: one line per code,
// "code meaning". -update rewrites them; review the diff.

func assertExitGolden(t *testing.T, name string, read func(int) Exit, codes []int, names map[int]string) {
	t.Helper()
	var b strings.Builder
	for _, c := range codes {
		fmt.Fprintf(&b, "%d %s", c, read(c))
		if n := names[c]; n != "" {
			fmt.Fprintf(&b, " (%s)", n)
		}
		b.WriteByte('\n')
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update)", err, t.Name())
	}
	if got := b.String(); got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// upTo returns 0..n-1 and the extra codes.
func upTo(n int, extra ...int) []int {
	var out []int
	for i := range n {
		out = append(out, i)
	}
	return append(out, extra...)
}

func TestXFreeRDPExitCodes(t *testing.T) {
	assertExitGolden(t, "exitcode-xfreerdp.txt", XFreeRDPExit, upTo(33, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138,
		139, 140, 141, 142, 143, 144, 145, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 255), xfExitNames)
}

func TestMstscExitCodes(t *testing.T) {
	assertExitGolden(t, "exitcode-mstsc.txt", MstscExit, []int{0, 1, 2, 255}, nil)
}

func TestWindowsAppExitCodes(t *testing.T) {
	assertExitGolden(t, "exitcode-windowsapp.txt", WindowsAppExit, []int{0, 1}, nil)
}

// TestExitCodeNormalEnds: the ends a user causes are normal, failures
// are not.
func TestExitCodeNormalEnds(t *testing.T) {
	for code, want := range map[int]bool{0: true, 1: true, 2: true, 5: true, 11: true, 12: true, 131: true, 132: false, 7: false, 128: false, 255: false} {
		if got := XFreeRDPExit(code).Normal(); got != want {
			t.Errorf("xfreerdp %d (%s): normal %v, want %v", code, XFreeRDPExit(code), got, want)
		}
	}
}

// xfExitNames are FreeRDP 2's names (client/X11/xfreerdp.h), for the
// golden file's reader.
var xfExitNames = map[int]string{
	0: "XF_EXIT_SUCCESS", 1: "XF_EXIT_DISCONNECT", 2: "XF_EXIT_LOGOFF", 3: "XF_EXIT_IDLE_TIMEOUT",
	4: "XF_EXIT_LOGON_TIMEOUT", 5: "XF_EXIT_CONN_REPLACED", 6: "XF_EXIT_OUT_OF_MEMORY", 7: "XF_EXIT_CONN_DENIED",
	8: "XF_EXIT_CONN_DENIED_FIPS", 9: "XF_EXIT_USER_PRIVILEGES", 10: "XF_EXIT_FRESH_CREDENTIALS_REQUIRED",
	11: "XF_EXIT_DISCONNECT_BY_USER", 12: "ERRINFO_LOGOFF_BY_USER", 16: "XF_EXIT_LICENSE_INTERNAL",
	17: "XF_EXIT_LICENSE_NO_LICENSE_SERVER", 18: "XF_EXIT_LICENSE_NO_LICENSE", 19: "XF_EXIT_LICENSE_BAD_CLIENT_MSG",
	20: "XF_EXIT_LICENSE_HWID_DOESNT_MATCH", 21: "XF_EXIT_LICENSE_BAD_CLIENT", 22: "XF_EXIT_LICENSE_CANT_FINISH_PROTOCOL",
	23: "XF_EXIT_LICENSE_CLIENT_ENDED_PROTOCOL", 24: "XF_EXIT_LICENSE_BAD_CLIENT_ENCRYPTION", 25: "XF_EXIT_LICENSE_CANT_UPGRADE",
	26: "XF_EXIT_LICENSE_NO_REMOTE_CONNECTIONS", 32: "XF_EXIT_RDP", 128: "XF_EXIT_PARSE_ARGUMENTS", 129: "XF_EXIT_MEMORY",
	130: "XF_EXIT_PROTOCOL", 131: "XF_EXIT_CONN_FAILED", 132: "XF_EXIT_AUTH_FAILURE", 133: "XF_EXIT_NEGO_FAILURE",
	134: "XF_EXIT_LOGON_FAILURE", 135: "XF_EXIT_ACCOUNT_LOCKED_OUT", 136: "XF_EXIT_PRE_CONNECT_FAILED",
	137: "XF_EXIT_CONNECT_UNDEFINED", 138: "XF_EXIT_POST_CONNECT_FAILED", 139: "XF_EXIT_DNS_ERROR",
	140: "XF_EXIT_DNS_NAME_NOT_FOUND", 141: "XF_EXIT_CONNECT_FAILED", 142: "XF_EXIT_MCS_CONNECT_INITIAL_ERROR",
	143: "XF_EXIT_TLS_CONNECT_FAILED", 144: "XF_EXIT_INSUFFICIENT_PRIVILEGES", 145: "XF_EXIT_CONNECT_CANCELLED",
	147: "XF_EXIT_CONNECT_TRANSPORT_FAILED", 148: "XF_EXIT_CONNECT_PASSWORD_EXPIRED", 149: "XF_EXIT_CONNECT_PASSWORD_MUST_CHANGE",
	150: "XF_EXIT_CONNECT_KDC_UNREACHABLE", 151: "XF_EXIT_CONNECT_ACCOUNT_DISABLED", 152: "XF_EXIT_CONNECT_PASSWORD_CERTAINLY_EXPIRED",
	153: "XF_EXIT_CONNECT_CLIENT_REVOKED", 154: "XF_EXIT_CONNECT_WRONG_PASSWORD", 155: "XF_EXIT_CONNECT_ACCESS_DENIED",
	156: "XF_EXIT_CONNECT_ACCOUNT_RESTRICTION", 157: "XF_EXIT_CONNECT_ACCOUNT_EXPIRED", 158: "XF_EXIT_CONNECT_LOGON_TYPE_NOT_GRANTED",
	159: "XF_EXIT_CONNECT_NO_OR_MISSING_CREDENTIALS", 255: "XF_EXIT_UNKNOWN",
}
