package releasetest

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Resource types (winuser.h).
const (
	rtIcon      = 3
	rtGroupIcon = 14
	rtVersion   = 16
	rtManifest  = 24
)

// TestE2EWindowsApp reads the Windows app's headers with debug/pe: a
// PE32+ for amd64 of the GUI subsystem (no console window), whose
// resources hold the icon (with a 256-pixel image), the version (the
// release's) and a manifest that asks for no elevation.
func TestE2EWindowsApp(t *testing.T) {
	r := BuildRelease(t)
	f, err := pe.Open(r.path("zaitaku-{v}-windows-amd64.exe"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Errorf("machine %#x, want amd64 (%#x)", f.Machine, pe.IMAGE_FILE_MACHINE_AMD64)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("optional header %T: not PE32+", f.OptionalHeader)
	}
	if oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("subsystem %d, want IMAGE_SUBSYSTEM_WINDOWS_GUI (%d): -H=windowsgui missing", oh.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
	}
	// Only DLLs every Windows has: mingw-w64's win32 thread model links
	// libgcc and winpthreads in statically, so no MinGW DLL must ship.
	syms, err := f.ImportedSymbols() // "symbol:DLL"; debug/pe's ImportedLibraries is empty for PE
	if err != nil {
		t.Fatal(err)
	}
	var libs []string
	seen := map[string]bool{}
	for _, s := range syms {
		if _, dll, ok := strings.Cut(s, ":"); ok && !seen[dll] {
			seen[dll] = true
			libs = append(libs, dll)
		}
	}
	if len(libs) == 0 {
		t.Error("no imported DLLs read")
	}
	t.Logf("imports: %v", libs)
	system := map[string]bool{"kernel32.dll": true, "user32.dll": true, "gdi32.dll": true, "shell32.dll": true,
		"opengl32.dll": true, "msvcrt.dll": true, "advapi32.dll": true, "ole32.dll": true, "winmm.dll": true,
		"ws2_32.dll": true, "imm32.dll": true, "dwmapi.dll": true, "comdlg32.dll": true, "uxtheme.dll": true}
	for _, l := range libs {
		if !system[strings.ToLower(l)] && !strings.HasPrefix(strings.ToLower(l), "api-ms-win-") {
			t.Errorf("imports %s, which Windows does not ship", l)
		}
	}
	res, err := readResources(f, oh)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []uint32{rtIcon, rtGroupIcon, rtVersion, rtManifest} {
		if len(res[typ]) == 0 {
			t.Errorf("no resource of type %d", typ)
		}
	}
	if g := res[rtGroupIcon]; len(g) > 0 {
		sizes, err := groupIconSizes(g[0])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("icon sizes: %v", sizes)
		if !containsInt(sizes, 256) || !containsInt(sizes, 16) || len(res[rtIcon]) != len(sizes) {
			t.Errorf("icon group %v with %d images, want 16 to 256 pixels, one image each", sizes, len(res[rtIcon]))
		}
	}
	if v := res[rtVersion]; len(v) > 0 {
		got, err := fixedFileVersion(v[0])
		if err != nil {
			t.Fatal(err)
		}
		want := strings.SplitN(r.Version, "-", 2)[0] + ".0"
		if got != want {
			t.Errorf("file version %s, want %s", got, want)
		}
		if !bytes.Contains(v[0], utf16("Zaitaku")) {
			t.Errorf("version resource does not name the product")
		}
	}
	if m := res[rtManifest]; len(m) > 0 && !bytes.Contains(m[0], []byte(`level="asInvoker"`)) {
		t.Errorf("manifest does not run asInvoker (a per-user app must not ask for elevation):\n%s", m[0])
	}
}

// readResources walks the resource directory (type / name / language)
// and returns each leaf's data by type.
func readResources(f *pe.File, oh *pe.OptionalHeader64) (map[uint32][][]byte, error) {
	dd := oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_RESOURCE]
	if dd.VirtualAddress == 0 {
		return nil, fmt.Errorf("no resource directory")
	}
	var sec *pe.Section
	for _, s := range f.Sections {
		if dd.VirtualAddress >= s.VirtualAddress && dd.VirtualAddress < s.VirtualAddress+s.VirtualSize {
			sec = s
		}
	}
	if sec == nil {
		return nil, fmt.Errorf("no section holds the resource directory")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	base := dd.VirtualAddress - sec.VirtualAddress
	le := binary.LittleEndian
	type entry struct{ id, off uint32 }
	dir := func(off uint32) ([]entry, error) {
		p := base + off
		if int(p)+16 > len(data) {
			return nil, fmt.Errorf("resource directory at %#x out of range", off)
		}
		n := uint32(le.Uint16(data[p+12:])) + uint32(le.Uint16(data[p+14:]))
		var out []entry
		for i := range n {
			e := p + 16 + 8*i
			if int(e)+8 > len(data) {
				return nil, fmt.Errorf("resource entry out of range")
			}
			out = append(out, entry{le.Uint32(data[e:]), le.Uint32(data[e+4:])})
		}
		return out, nil
	}
	const sub = 0x80000000
	out := map[uint32][][]byte{}
	types, err := dir(0)
	if err != nil {
		return nil, err
	}
	for _, typ := range types {
		if typ.off&sub == 0 {
			continue
		}
		names, err := dir(typ.off &^ sub)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			langs, err := dir(name.off &^ sub)
			if err != nil {
				return nil, err
			}
			for _, lang := range langs {
				leaf := base + lang.off
				if lang.off&sub != 0 || int(leaf)+16 > len(data) {
					return nil, fmt.Errorf("bad resource leaf")
				}
				rva, size := le.Uint32(data[leaf:]), le.Uint32(data[leaf+4:])
				start := rva - sec.VirtualAddress
				if int(start+size) > len(data) {
					return nil, fmt.Errorf("resource data out of range")
				}
				out[typ.id] = append(out[typ.id], data[start:start+size])
			}
		}
	}
	return out, nil
}

// groupIconSizes reads a GRPICONDIR: the pixel size of each image (0 = 256).
func groupIconSizes(b []byte) ([]int, error) {
	if len(b) < 6 {
		return nil, fmt.Errorf("icon group of %d bytes", len(b))
	}
	n := int(binary.LittleEndian.Uint16(b[4:]))
	if len(b) < 6+14*n {
		return nil, fmt.Errorf("icon group of %d bytes for %d images", len(b), n)
	}
	var sizes []int
	for i := range n {
		w := int(b[6+14*i])
		if w == 0 {
			w = 256
		}
		sizes = append(sizes, w)
	}
	return sizes, nil
}

// fixedFileVersion finds VS_FIXEDFILEINFO (signature 0xFEEF04BD) and
// returns its file version as a.b.c.d.
func fixedFileVersion(b []byte) (string, error) {
	i := bytes.Index(b, []byte{0xBD, 0x04, 0xEF, 0xFE})
	if i < 0 || len(b) < i+16 {
		return "", fmt.Errorf("no VS_FIXEDFILEINFO in the version resource")
	}
	ms, ls := binary.LittleEndian.Uint32(b[i+8:]), binary.LittleEndian.Uint32(b[i+12:])
	return strings.Join([]string{strconv.Itoa(int(ms >> 16)), strconv.Itoa(int(ms & 0xffff)),
		strconv.Itoa(int(ls >> 16)), strconv.Itoa(int(ls & 0xffff))}, "."), nil
}

func utf16(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
