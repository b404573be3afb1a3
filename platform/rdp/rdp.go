// Package rdp builds the connection to the office PC for the OS's own RDP
// client from one description, and runs that client: mstsc with a .rdp
// file on Windows, Windows App (formerly Microsoft Remote Desktop) with a
// .rdp file on macOS, xfreerdp on Linux.
package rdp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Policy says what the RDP client may redirect. The zero value is the
// LGWAN telework profile: screen transfer only, nothing leaves the office
// PC and nothing from the laptop reaches it. IT relaxes a rule only
// explicitly (and the broker logs it).
type Policy struct {
	Clipboard  bool // copy and paste between laptop and office PC
	Drives     bool // the laptop's home folder on the office PC
	Printers   bool // the laptop's printers on the office PC
	SmartCards bool
	USB        bool // USB device redirection
	Audio      bool // play the office PC's sound on the laptop
}

// Spec describes one connection, whatever the client.
type Spec struct {
	Host          string // the local end of the tunnel, 127.0.0.1
	Port          int
	User, Domain  string // pre-filled logon on the office PC (optional)
	Width, Height int    // window size; 0: the client's default
	Fullscreen    bool
	Title         string // window title (xfreerdp), e.g. the PC's name
	Policy        Policy
}

// Options tunes Launch; the zero value is what the app uses.
type Options struct {
	// Output receives the client's own log (xfreerdp's stdout and stderr).
	Output io.Writer
	// Extra arguments for xfreerdp (tests add /log-level:INFO).
	Extra []string
	// Env is added to the client's environment (tests set DISPLAY).
	Env []string
}

// ErrClientMissing wraps the failure to find the OS's RDP client.
var ErrClientMissing = errors.New("remote desktop client not installed")

// Launch starts the OS's RDP client for s and waits until it exits. It
// returns the client's exit code; err is set when the client could not be
// started (ErrClientMissing, errors.ErrUnsupported) or ctx ended it.
func Launch(ctx context.Context, s Spec) (exitCode int, err error) {
	return LaunchWith(ctx, s, Options{})
}

// LaunchWith is Launch with options.
func LaunchWith(ctx context.Context, s Spec, o Options) (exitCode int, err error) {
	if err := s.validate(); err != nil {
		return -1, err
	}
	return launch(ctx, s, o)
}

func (s Spec) validate() error {
	if s.Host == "" || s.Port <= 0 || s.Port > 65535 {
		return fmt.Errorf("rdp: bad target %q port %d", s.Host, s.Port)
	}
	if s.Width < 0 || s.Height < 0 || (s.Width == 0) != (s.Height == 0) {
		return fmt.Errorf("rdp: bad size %dx%d", s.Width, s.Height)
	}
	for _, v := range []string{s.Host, s.User, s.Domain, s.Title} {
		if strings.ContainsAny(v, "\r\n\x00") {
			return errors.New("rdp: line breaks are not allowed in the connection settings")
		}
	}
	return nil
}

func (s Spec) address() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BuildRDPFile returns the .rdp settings for mstsc and Windows App, one
// "name:type:value" per line, CRLF-terminated (UTF-8; see EncodeUTF16 for
// mstsc). Every redirection is written out, on or off, so that a default
// that changes in a client update cannot silently open a channel.
func BuildRDPFile(s Spec) []byte {
	var b strings.Builder
	line := func(name, typ string, v any) {
		fmt.Fprintf(&b, "%s:%s:%v\r\n", name, typ, v)
	}
	line("full address", "s", s.address())
	if s.User != "" {
		user := s.User
		if s.Domain != "" {
			user = s.Domain + `\` + s.User
		}
		line("username", "s", user)
	}
	if s.Fullscreen {
		line("screen mode id", "i", 2)
	} else {
		line("screen mode id", "i", 1)
	}
	if s.Width > 0 {
		line("desktopwidth", "i", s.Width)
		line("desktopheight", "i", s.Height)
	}
	line("session bpp", "i", 32)
	line("use multimon", "i", 0)
	p := s.Policy
	line("redirectclipboard", "i", b2i(p.Clipboard))
	line("redirectdrives", "i", b2i(p.Drives))
	if p.Drives {
		line("drivestoredirect", "s", "*")
	} else {
		line("drivestoredirect", "s", "")
	}
	line("redirectprinters", "i", b2i(p.Printers))
	line("redirectsmartcards", "i", b2i(p.SmartCards))
	line("redirectcomports", "i", 0)
	line("redirectposdevices", "i", 0)
	line("redirectwebauthn", "i", 0)
	line("camerastoredirect", "s", "")
	if p.USB {
		line("usbdevicestoredirect", "s", "*")
		line("devicestoredirect", "s", "*")
	} else {
		line("usbdevicestoredirect", "s", "")
		line("devicestoredirect", "s", "")
	}
	if p.Audio {
		line("audiomode", "i", 0) // play on this laptop
	} else {
		line("audiomode", "i", 2) // do not play
	}
	line("audiocapturemode", "i", 0)
	// The client connects to 127.0.0.1, which can never match the office
	// PC's certificate; the path is authenticated by the tunnel instead
	// (pinned TLS to the broker, which dials only the paired PC).
	line("authentication level", "i", 0)
	line("prompt for credentials", "i", 0)
	line("negotiate security layer", "i", 1)
	line("enablecredsspsupport", "i", 1)
	line("autoreconnection enabled", "i", 1)
	line("gatewayusagemethod", "i", 0)
	line("connection type", "i", 7) // auto-detect
	return []byte(b.String())
}

// EncodeUTF16 turns a .rdp file into UTF-16LE with a byte order mark, the
// encoding mstsc writes itself (safe for Japanese user names).
func EncodeUTF16(text []byte) []byte {
	u := utf16.Encode([]rune(string(text)))
	out := make([]byte, 2, 2+2*len(u))
	out[0], out[1] = 0xFF, 0xFE
	for _, c := range u {
		out = append(out, byte(c), byte(c>>8))
	}
	return out
}

// XFreeRDPArgs returns the xfreerdp (FreeRDP 2) arguments for s. As in the
// .rdp file, every redirection is stated, on or off.
func XFreeRDPArgs(s Spec) []string {
	args := []string{"/v:" + s.address()}
	if s.User != "" {
		args = append(args, "/u:"+s.User)
	}
	if s.Domain != "" {
		args = append(args, "/d:"+s.Domain)
	}
	if s.Fullscreen {
		args = append(args, "/f")
	} else if s.Width > 0 {
		args = append(args, fmt.Sprintf("/size:%dx%d", s.Width, s.Height))
	}
	if s.Title != "" {
		args = append(args, "/t:"+s.Title)
	}
	// See BuildRDPFile on why the certificate of 127.0.0.1 is not checked.
	args = append(args, "/cert:ignore", "+auto-reconnect")
	p := s.Policy
	args = append(args, toggle(p.Clipboard, "clipboard"))
	if p.Drives {
		args = append(args, "+home-drive")
	} else {
		args = append(args, "-drives", "-home-drive")
	}
	if p.Printers {
		args = append(args, "/printer")
	}
	if p.SmartCards {
		args = append(args, "/smartcard")
	}
	if p.USB {
		args = append(args, "/usb:auto")
	}
	if p.Audio {
		args = append(args, "/sound", "/audio-mode:0")
	} else {
		args = append(args, "/audio-mode:2")
	}
	return args
}

func toggle(on bool, name string) string {
	if on {
		return "+" + name
	}
	return "-" + name
}
