package uitest

/*
#cgo LDFLAGS: -lX11
#include <X11/Xlib.h>
#include <stdlib.h>

// closeWindow asks win's client to close it, as a window manager does when
// the user clicks its close button: a WM_DELETE_WINDOW client message.
static int closeWindow(const char* name, unsigned long win) {
	Display* d = XOpenDisplay(name);
	if (!d) return 1;
	XEvent e = {0};
	e.xclient.type = ClientMessage;
	e.xclient.window = win;
	e.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
	e.xclient.format = 32;
	e.xclient.data.l[0] = XInternAtom(d, "WM_DELETE_WINDOW", False);
	e.xclient.data.l[1] = CurrentTime;
	XSendEvent(d, win, False, NoEventMask, &e);
	XSync(d, False);
	XCloseDisplay(d);
	return 0;
}
*/
import "C"

import (
	"strconv"
	"testing"
	"unsafe"
)

// CloseWindow closes window the way a user does with its close button
// (Xvfb has no window manager to send the request).
func CloseWindow(t testing.TB, display, window string) {
	t.Helper()
	id, err := strconv.ParseUint(window, 10, 64)
	if err != nil {
		t.Fatalf("window id %q: %v", window, err)
	}
	name := C.CString(display)
	defer C.free(unsafe.Pointer(name))
	if C.closeWindow(name, C.ulong(id)) != 0 {
		t.Fatalf("open display %s", display)
	}
}
