package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/terminal"
)

// Encodings a roster may be given in.
const (
	EncodingAuto     = "auto"
	EncodingUTF8     = "utf-8"
	EncodingShiftJIS = "shift_jis"
)

// MaxRows bounds a roster: a large city has some 20,000 staff.
const MaxRows = 100_000

// field is a column the import understands.
type field int

const (
	fStaffID field = iota
	fName
	fKana
	fDepartment
	fRole
	fEmail
	fPC
	fAddress
	fMAC
	fSegment
	nFields
)

// fieldNames name each column in problems, Japanese header first.
var fieldNames = [nFields]string{
	"職員番号 (staff ID)", "氏名 (name)", "カナ (kana)", "所属 (department)", "役割 (role)",
	"メールアドレス (e-mail)", "端末名 (office PC name)", "IPアドレス (address)", "MACアドレス (MAC)",
	"ネットワーク区分 (segment)",
}

// headers maps a header, as headerKey folds it, to its column: the names
// personnel systems and Excel sheets use, in Japanese and in English.
var headers = func() map[string]field {
	m := map[string]field{}
	for f, names := range map[field][]string{
		fStaffID:    {"職員番号", "職員コード", "職員ID", "職員No", "職員CD", "社員番号", "ユーザーID", "ユーザID", "staff_id", "staffid", "id", "employee_id"},
		fName:       {"氏名", "名前", "職員名", "漢字氏名", "name", "full_name"},
		fKana:       {"カナ", "氏名カナ", "カナ氏名", "フリガナ", "ふりがな", "よみがな", "氏名（カナ）", "kana", "name_kana", "furigana"},
		fDepartment: {"所属", "所属名", "所属課", "部署", "部署名", "課", "課名", "department", "dept"},
		fRole:       {"役割", "権限", "ロール", "role", "roles"},
		fEmail:      {"メールアドレス", "メール", "電子メール", "email", "e-mail", "mail", "email_address"},
		fPC:         {"端末名", "PC名", "パソコン名", "コンピュータ名", "コンピューター名", "職場のパソコン", "pc", "pc_name", "office_pc", "terminal", "computer_name"},
		fAddress:    {"IPアドレス", "アドレス", "端末アドレス", "address", "ip", "ip_address", "host"},
		fMAC:        {"MACアドレス", "MAC", "mac_address"},
		fSegment:    {"ネットワーク区分", "ネットワーク", "区分", "系統", "セグメント", "segment", "network_segment"},
	} {
		for _, n := range names {
			m[headerKey(n)] = f
		}
	}
	return m
}()

// headerKey folds the ways one header is written: full-width letters,
// case, spaces, '_', '-', brackets.
func headerKey(h string) string {
	h = strings.ToLower(width.Fold.String(strings.TrimSpace(h)))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '(', ')', '.', '・', '\u3000', '（', '）':
			return -1
		}
		return r
	}, h)
}

// Entry is one member of staff as the roster gives them, checked.
type Entry struct {
	Line       int
	StaffID    string
	Name       string
	Kana       string
	Department string
	Roles      []api.Role // staff, or staff and supervisor
	Email      string
	PC         string // the office PC's ID (its name, lower case)
	PCName     string // as written
	Address    string
	MAC        string
	Segment    string // api.Segment*; "" leaves the PC's as it is
}

// File is a parsed roster: its entries and which columns it has (a
// column the file lacks changes nothing).
type File struct {
	Encoding string
	Has      [nFields]bool
	Entries  []Entry
	Ignored  []string // headers of columns the import does not use

	header []string
	col    [nFields]int
}

// problem names a line and one of the file's columns.
func (f *File) problem(line int, fl field, msg string) api.RosterProblem {
	return problem(line, f.col[fl], f.header, msg)
}

// Decode turns the file into text: UTF-8 with or without a BOM, or
// Shift_JIS (Windows code page 932, what Excel saves in Japan). With
// EncodingAuto a BOM or valid UTF-8 means UTF-8, anything else Shift_JIS.
func Decode(data []byte, enc string) (text, used string, p *api.RosterProblem) {
	bom := []byte("\xef\xbb\xbf")
	switch strings.ToLower(strings.ReplaceAll(enc, "-", "_")) {
	case "", EncodingAuto:
		if bytes.HasPrefix(data, bom) || utf8.Valid(data) {
			return Decode(data, EncodingUTF8)
		}
		return Decode(data, EncodingShiftJIS)
	case "utf_8", "utf8":
		data = bytes.TrimPrefix(data, bom)
		if !utf8.Valid(data) {
			n := len(data)
			for i := 0; i < len(data); {
				r, size := utf8.DecodeRune(data[i:])
				if r == utf8.RuneError && size == 1 {
					n = i
					break
				}
				i += size
			}
			return "", EncodingUTF8, &api.RosterProblem{Line: lineAt(data, n),
				Message: "not valid UTF-8: save the file as \"CSV UTF-8\", or give the encoding shift_jis"}
		}
		return string(data), EncodingUTF8, nil
	case "shift_jis", "sjis", "cp932", "windows_31j":
		if bytes.HasPrefix(data, bom) {
			return "", EncodingShiftJIS, &api.RosterProblem{Line: 1,
				Message: "the file starts with a UTF-8 byte-order mark: give the encoding utf-8 or auto"}
		}
		out, err := japanese.ShiftJIS.NewDecoder().Bytes(data)
		if err == nil {
			if i := bytes.IndexRune(out, utf8.RuneError); i >= 0 {
				return "", EncodingShiftJIS, &api.RosterProblem{Line: lineAt(out, i),
					Message: "a character that is not Shift_JIS: save the file as \"CSV UTF-8\", or give the encoding utf-8"}
			}
		}
		if err != nil {
			return "", EncodingShiftJIS, &api.RosterProblem{Line: 1, Message: "not valid Shift_JIS: " + err.Error()}
		}
		return string(out), EncodingShiftJIS, nil
	}
	return "", enc, &api.RosterProblem{Message: fmt.Sprintf("encoding %q: use auto, utf-8 or shift_jis", enc)}
}

func lineAt(b []byte, i int) int { return 1 + bytes.Count(b[:min(i, len(b))], []byte("\n")) }

// Parse reads a decoded roster. Every problem names its line and column
// and says what to fix; a file with any problem changes nothing.
func Parse(text string) (*File, []api.RosterProblem) {
	f := &File{}
	var probs []api.RosterProblem
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, []api.RosterProblem{{Line: 1, Message: "the file is empty: the first line names the columns (職員番号, 氏名, 所属, ...)"}}
	}
	if err != nil {
		return nil, []api.RosterProblem{csvProblem(err)}
	}
	col := [nFields]int{}
	for i := range col {
		col[i] = -1
	}
	for i, h := range header {
		fl, ok := headers[headerKey(h)]
		if !ok {
			if strings.TrimSpace(h) != "" {
				f.Ignored = append(f.Ignored, h)
			}
			continue
		}
		if col[fl] >= 0 {
			probs = append(probs, api.RosterProblem{Line: 1, Column: i + 1, Header: h,
				Message: fmt.Sprintf("column %d (%s) is %s too: keep one of them", col[fl]+1, header[col[fl]], fieldNames[fl])})
			continue
		}
		col[fl] = i
		f.Has[fl] = true
	}
	for _, req := range []field{fStaffID, fName, fDepartment} {
		if col[req] < 0 {
			probs = append(probs, api.RosterProblem{Line: 1,
				Message: fmt.Sprintf("missing column %s: add a column with that header", fieldNames[req])})
		}
	}
	if col[fPC] < 0 && (col[fAddress] >= 0 || col[fMAC] >= 0 || col[fSegment] >= 0) {
		probs = append(probs, api.RosterProblem{Line: 1,
			Message: fmt.Sprintf("an address, MAC or segment column needs the column %s, which the PC is known by", fieldNames[fPC])})
	}
	if len(probs) > 0 {
		return nil, probs
	}
	seenID, seenPC := map[string]int{}, map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			probs = append(probs, csvProblem(err))
			if _, ok := err.(*csv.ParseError); ok {
				break // the rest of the file cannot be trusted to line up
			}
			continue
		}
		line, _ := r.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(f.Entries) >= MaxRows {
			probs = append(probs, api.RosterProblem{Line: line, Message: fmt.Sprintf("more than %d lines: split the roster", MaxRows)})
			break
		}
		e, ps := parseEntry(line, header, rec, col)
		probs = append(probs, ps...)
		if e.StaffID != "" {
			if prev, dup := seenID[e.StaffID]; dup {
				probs = append(probs, problem(line, col[fStaffID], header,
					fmt.Sprintf("%s is also on line %d: each member of staff appears once", e.StaffID, prev)))
			} else {
				seenID[e.StaffID] = line
			}
		}
		if e.PC != "" {
			if prev, dup := seenPC[e.PC]; dup {
				probs = append(probs, problem(line, col[fPC], header,
					fmt.Sprintf("office PC %s is also on line %d: a PC belongs to one member of staff", e.PCName, prev)))
			} else {
				seenPC[e.PC] = line
			}
		}
		if len(ps) == 0 {
			f.Entries = append(f.Entries, e)
		}
		if len(probs) > 1000 {
			probs = append(probs, api.RosterProblem{Line: line, Message: "more than 1000 problems; stopped reading: is this the right file?"})
			break
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	f.header, f.col = header, col
	return f, nil
}

func csvProblem(err error) api.RosterProblem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return api.RosterProblem{Line: pe.Line, Column: pe.Column,
			Message: "not CSV here (" + pe.Err.Error() + "): a double quote inside a cell must be written twice"}
	}
	return api.RosterProblem{Message: err.Error()}
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func problem(line, col int, header []string, msg string) api.RosterProblem {
	p := api.RosterProblem{Line: line, Message: msg}
	if col >= 0 {
		p.Column = col + 1
		if col < len(header) {
			p.Header = header[col]
		}
	}
	return p
}

// parseEntry checks one line, column by column.
func parseEntry(line int, header, rec []string, col [nFields]int) (Entry, []api.RosterProblem) {
	e := Entry{Line: line}
	var probs []api.RosterProblem
	get := func(fl field) string {
		if col[fl] < 0 || col[fl] >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[col[fl]])
	}
	bad := func(fl field, format string, args ...any) {
		probs = append(probs, problem(line, col[fl], header, fmt.Sprintf(format, args...)))
	}
	for fl := range nFields {
		if v := get(fl); v != "" {
			if ae := api.CheckText(fieldNames[fl], v, 200); ae != nil {
				bad(fl, "%s", ae.Detail)
				return Entry{Line: line}, probs
			}
		}
	}
	// IDs, kana, addresses are often typed full width (ｋ１０２４,
	// ｶﾀｶﾅ from older systems): folded to their usual form.
	fold := func(fl field) string { return strings.TrimSpace(width.Fold.String(get(fl))) }

	e.StaffID = auth.NormalizeID(fold(fStaffID))
	if e.StaffID == "" {
		bad(fStaffID, "empty: every line needs the member of staff's ID")
	} else if err := auth.ValidateID(e.StaffID); err != nil {
		bad(fStaffID, "%q: a staff ID is 1 to 64 letters, digits, '-', '_' or '.'", get(fStaffID))
	}
	if e.Name = get(fName); e.Name == "" {
		bad(fName, "empty: every line needs the name")
	} else if utf8.RuneCountInString(e.Name) > 100 {
		bad(fName, "longer than 100 characters")
	}
	// Half-width ﾀﾞ folds to タ and a combining mark; NFC makes it ダ.
	if e.Kana = norm.NFC.String(fold(fKana)); e.Kana != "" {
		if r, ok := notKana(e.Kana); ok {
			bad(fKana, "%q is not kana: the reading in katakana, e.g. ヤマダ ハナコ", string(r))
		}
	}
	if e.Department = get(fDepartment); e.Department == "" {
		bad(fDepartment, "empty: every line needs the department (所属)")
	} else if utf8.RuneCountInString(e.Department) > 100 {
		bad(fDepartment, "longer than 100 characters")
	}
	var msg string
	if e.Roles, msg = parseRole(fold(fRole)); msg != "" {
		bad(fRole, "%s", msg)
	}
	if e.Email = fold(fEmail); e.Email != "" {
		if a, err := mail.ParseAddress(e.Email); err != nil || a.Address != e.Email || len(e.Email) > 254 {
			bad(fEmail, "%q is not an e-mail address, e.g. hanako.yamada@city.example.lg.jp", get(fEmail))
		}
	}
	e.PCName = get(fPC)
	if pc := strings.ToLower(fold(fPC)); pc != "" {
		if !terminal.ValidID(pc) {
			bad(fPC, "%q: an office PC name is letters, digits, '.', '_' or '-' (it becomes the PC's ID)", e.PCName)
		}
		e.PC = pc
	}
	if e.Address = fold(fAddress); e.Address != "" && !terminal.ValidHost(e.Address) {
		bad(fAddress, "%q is not an IP address or host name", get(fAddress))
	}
	if e.MAC = fold(fMAC); e.MAC != "" {
		if hw, ok := parseMAC(e.MAC); ok {
			e.MAC = hw
		} else {
			bad(fMAC, "%q is not a MAC address: six bytes, e.g. 00:1a:2b:3c:4d:5e", get(fMAC))
		}
	}
	if v := fold(fSegment); v != "" {
		if e.Segment = parseSegment(v); e.Segment == "" {
			bad(fSegment, "%q is not a network segment: LGWAN接続系 (lgwan), 個人番号利用事務系 (mynumber) or インターネット接続系 (internet)", get(fSegment))
		}
	}
	if e.PC == "" && (e.Address != "" || e.MAC != "" || e.Segment != "") {
		bad(fPC, "empty, but the line gives an address, MAC or segment: name the office PC")
	}
	return e, probs
}

// parseMAC reads 00:1a:2b:3c:4d:5e, 00-1A-2B-3C-4D-5E, 001a.2b3c.4d5e
// and the bare 001A2B3C4D5E some inventories export.
func parseMAC(s string) (string, bool) {
	if len(s) == 12 {
		var b strings.Builder
		for i := 0; i < 12; i += 2 {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(s[i : i+2])
		}
		s = b.String()
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", false
	}
	return hw.String(), true
}

// notKana returns the first rune of s that is not kana or a separator.
func notKana(s string) (rune, bool) {
	for _, r := range s {
		if unicode.In(r, unicode.Katakana, unicode.Hiragana) || r == 'ー' || r == '・' || r == ' ' || r == '\u3000' || r == '゛' || r == '゜' {
			continue
		}
		return r, true
	}
	return 0, false
}

// parseRole maps the role column: empty or staff is staff; a supervisor
// is staff too. Privileged roles are never granted by a roster.
func parseRole(v string) ([]api.Role, string) {
	switch strings.ToLower(v) {
	case "", "staff", "職員", "一般", "一般職員":
		return []api.Role{api.RoleStaff}, ""
	case "supervisor", "所属長", "管理職", "監督者", "上長":
		return []api.Role{api.RoleStaff, api.RoleSupervisor}, ""
	case string(api.RoleAdmin), string(api.RoleAuditor), string(api.RoleDeptAdmin), "管理者", "監査", "監査員":
		return nil, fmt.Sprintf("%q is granted by central IT with broker admin, never by a roster: use staff or supervisor", v)
	}
	return nil, fmt.Sprintf("%q: use staff (職員) or supervisor (所属長)", v)
}

// parseSegment reads a network segment (三層分離) as personnel and asset
// sheets write it; "" when it is none of them.
func parseSegment(v string) string {
	switch strings.ToLower(strings.ReplaceAll(v, " ", "")) {
	case "lgwan", "lgwan接続系", "lgwan系":
		return api.SegmentLGWAN
	case "mynumber", "my_number", "個人番号利用事務系", "個人番号系", "マイナンバー系", "マイナンバー利用事務系":
		return api.SegmentMyNumber
	case "internet", "インターネット接続系", "インターネット系":
		return api.SegmentInternet
	}
	return ""
}
