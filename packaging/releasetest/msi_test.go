package releasetest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// msiTable exports one table with msiinfo: rows of columns (the three
// header lines, names, types and key, are dropped).
func msiTable(t *testing.T, msi, table string) [][]string {
	t.Helper()
	out := run(t, "msiinfo", "export", msi, table)
	lines := strings.Split(strings.TrimRight(out, "\r\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("msiinfo export %s: %q", table, out)
	}
	var rows [][]string
	for _, l := range lines[3:] {
		rows = append(rows, strings.Split(strings.TrimRight(l, "\r"), "\t"))
	}
	return rows
}

func findRow(rows [][]string, col int, val string) []string {
	for _, r := range rows {
		if len(r) > col && r[col] == val {
			return r
		}
	}
	return nil
}

// TestE2EMSI reads the MSI's tables back with msiinfo: a per-user package
// (no elevation) into %LOCALAPPDATA%\Programs\Zaitaku holding the app
// that was built and IT's preset beside it, a Start-menu shortcut, the
// start-at-sign-in Run value the app's own setting uses, and a major
// upgrade that replaces older versions.
func TestE2EMSI(t *testing.T) {
	needTools(t, "msiinfo:msitools", "msiextract:msitools")
	r := BuildRelease(t)
	msi := r.path("zaitaku-{v}-windows-amd64.msi")
	tables := run(t, "msiinfo", "tables", msi)
	_ = os.WriteFile(filepath.Join(artifacts(), "msi-tables.txt"), []byte(tables), 0o644)
	for _, tb := range []string{"File", "Component", "Directory", "Shortcut", "Registry", "Property", "Feature", "Upgrade", "Icon"} {
		if !strings.Contains("\n"+tables, "\n"+tb+"\n") {
			t.Errorf("no %s table", tb)
		}
	}

	// Word count bit 3 (8): elevated privileges are not required.
	sum := run(t, "msiinfo", "suminfo", msi)
	var wordCount int
	for _, l := range strings.Split(sum, "\n") {
		if v, ok := strings.CutPrefix(l, "Source: "); ok { // msiinfo's name for PID_WORDCOUNT
			wordCount, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	if wordCount&8 == 0 {
		t.Errorf("summary word count %d: the package asks for elevation (want bit 8, InstallScope=perUser)\n%s", wordCount, sum)
	}
	if !strings.Contains(sum, "Template: x64") {
		t.Errorf("not an x64 package:\n%s", sum)
	}

	props := msiTable(t, msi, "Property")
	prop := func(name string) string {
		if row := findRow(props, 0, name); len(row) > 1 {
			return row[1]
		}
		return ""
	}
	if v := prop("ProductVersion"); v != strings.SplitN(r.Version, "-", 2)[0] {
		t.Errorf("ProductVersion %q, want %s", v, r.Version)
	}
	if v := prop("UpgradeCode"); v != "{07C5EF62-4B1B-4BFD-8F12-2FD493F6B7ED}" {
		t.Errorf("UpgradeCode %q changed: later versions would not replace this one", v)
	}
	if v := prop("ALLUSERS"); v != "" {
		t.Errorf("ALLUSERS=%q: a per-machine install needs administrators", v)
	}

	dirs := msiTable(t, msi, "Directory")
	parent := map[string][2]string{}
	for _, d := range dirs {
		if len(d) >= 3 {
			parent[d[0]] = [2]string{d[1], d[2]}
		}
	}
	if p := parent["INSTALLDIR"]; p[1] != "Zaitaku" || parent[p[0]][1] != "Programs" || parent[parent[p[0]][0]] == ([2]string{}) || parent[p[0]][0] != "LocalAppDataFolder" {
		t.Errorf("INSTALLDIR is not LocalAppDataFolder\\Programs\\Zaitaku: %v", dirs)
	}

	files := msiTable(t, msi, "File")
	exe := findRow(files, 2, "zaitaku.exe")
	st, err := os.Stat(r.path("zaitaku-{v}-windows-amd64.exe"))
	if err != nil {
		t.Fatal(err)
	}
	if exe == nil || exe[3] != strconv.FormatInt(st.Size(), 10) {
		t.Errorf("File table has no zaitaku.exe of %d bytes: %v", st.Size(), files)
	}
	if findRow(files, 2, "zaitaku-app.json") == nil {
		t.Errorf("File table has no zaitaku-app.json (the preset): %v", files)
	}

	comps := msiTable(t, msi, "Component")
	for _, c := range comps {
		if len(c) >= 6 && strings.HasPrefix(c[5], "reg") == false {
			t.Errorf("component %s has key path %q: per-user components keep an HKCU value as key path", c[0], c[5])
		}
	}

	sc := msiTable(t, msi, "Shortcut")
	if row := findRow(sc, 0, "StartMenuShortcut"); row == nil || row[1] != "ProgramMenuFolder" || row[4] != "[INSTALLDIR]zaitaku.exe" {
		t.Errorf("no Start-menu shortcut to zaitaku.exe: %v", sc)
	}

	reg := msiTable(t, msi, "Registry")
	var run_ []string
	for _, row := range reg {
		if len(row) >= 6 && row[2] == `Software\Microsoft\Windows\CurrentVersion\Run` {
			run_ = row
		}
		if len(row) >= 2 && row[1] != "1" {
			t.Errorf("registry value %v outside HKCU (root 1)", row)
		}
	}
	// platform/autostart writes the same name and command.
	if run_ == nil || run_[3] != "jp.lg.zaitaku" || run_[4] != `"[INSTALLDIR]zaitaku.exe" -hidden` {
		t.Errorf("no Run value jp.lg.zaitaku = \"...zaitaku.exe\" -hidden: %v", run_)
	}
	feats := msiTable(t, msi, "FeatureComponents")
	if findRow(feats, 0, "Autostart") == nil {
		t.Errorf("autostart is not a feature of its own (REMOVE=Autostart): %v", feats)
	}

	up := msiTable(t, msi, "Upgrade")
	if len(up) == 0 {
		t.Errorf("no Upgrade rows: a new MSI would install beside the old")
	}

	// What the MSI holds is what was built, and the preset as given.
	out := t.TempDir()
	cmd := exec.Command("msiextract", "-C", out, msi)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, b)
	}
	var got, preset string
	_ = filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		switch {
		case err != nil:
		case info.Name() == "zaitaku.exe":
			got = sha256File(t, p)
		case info.Name() == "zaitaku-app.json":
			preset = p
		}
		return nil
	})
	if want := sha256File(t, r.path("zaitaku-{v}-windows-amd64.exe")); got != want {
		t.Errorf("the MSI's zaitaku.exe has SHA-256 %s, the release's %s", got, want)
	}
	if preset == "" {
		t.Fatal("msiextract found no zaitaku-app.json")
	}
	var pf presetFile
	b, _ := os.ReadFile(preset)
	if err := json.Unmarshal(b, &pf); err != nil || pf.Broker != r.Preset.Broker || len(pf.Pins) != 1 || pf.Pins[0] != r.Preset.Pins[0] {
		t.Errorf("preset in the MSI = %s (%v), want %+v", b, err, r.Preset)
	}
}
