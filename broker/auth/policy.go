package auth

import (
	_ "embed"
	"strconv"
	"strings"
	"unicode"

	"github.com/zaitaku/zaitaku/broker/api"
)

// DefaultPolicy is the LGWAN telework profile: second factor mandatory,
// passwords of 10+ characters from 3 of 4 classes, lockout after 5 failures.
var DefaultPolicy = api.Policy{
	RequireTOTP:           true,
	RequireDeviceApproval: false,
	PasswordMinLength:     10,
	PasswordMinClasses:    3,
	LockoutThreshold:      5,
	LockoutMinutes:        15,
}

// MaxPasswordLen bounds input to the hash (argon2 takes any length; a
// megabyte password would only cost us).
const MaxPasswordLen = 128

//go:embed words.txt
var wordList string

var dictionary = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(wordList) {
		m[strings.ToLower(w)] = true
	}
	return m
}()

// PasswordRules describes the policy for people, in both languages.
func PasswordRules(p api.Policy) (en, ja string) {
	en = "At least " + strconv.Itoa(p.PasswordMinLength) + " characters, using " + strconv.Itoa(p.PasswordMinClasses) +
		" of: upper case, lower case, digits, symbols. Not your staff ID, not a common word or password."
	ja = strconv.Itoa(p.PasswordMinLength) + "文字以上で、英大文字・英小文字・数字・記号のうち" + strconv.Itoa(p.PasswordMinClasses) +
		"種類以上を使ってください。職員IDや一般的な単語・よく使われるパスワードは使えません。"
	return en, ja
}

// CheckPassword returns nil or a CodePasswordPolicy error whose detail says,
// in both languages, which rule failed.
func CheckPassword(pw, staffID string, p api.Policy) *api.Error {
	fail := func(en, ja string) *api.Error {
		e := api.Err(api.CodePasswordPolicy, en)
		e.DetailJA = ja
		return e
	}
	n := len([]rune(pw))
	if n < p.PasswordMinLength {
		return fail("Use at least "+strconv.Itoa(p.PasswordMinLength)+" characters.", strconv.Itoa(p.PasswordMinLength)+"文字以上にしてください。")
	}
	if len(pw) > MaxPasswordLen {
		return fail("Use at most "+strconv.Itoa(MaxPasswordLen)+" characters.", strconv.Itoa(MaxPasswordLen)+"文字以内にしてください。")
	}
	var up, low, dig, sym bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			up = true
		case unicode.IsLower(r):
			low = true
		case unicode.IsDigit(r):
			dig = true
		case unicode.IsControl(r):
			return fail("Do not use control characters.", "制御文字は使えません。")
		default:
			sym = true
		}
	}
	classes := 0
	for _, b := range []bool{up, low, dig, sym} {
		if b {
			classes++
		}
	}
	if classes < p.PasswordMinClasses {
		return fail("Mix at least "+strconv.Itoa(p.PasswordMinClasses)+" of: upper case, lower case, digits, symbols.",
			"英大文字・英小文字・数字・記号のうち"+strconv.Itoa(p.PasswordMinClasses)+"種類以上を組み合わせてください。")
	}
	lower := strings.ToLower(pw)
	if id := strings.ToLower(strings.TrimSpace(staffID)); len(id) >= 3 && strings.Contains(lower, id) {
		return fail("Do not include your staff ID.", "職員IDを含めないでください。")
	}
	if isDictionaryLike(lower) {
		return fail("Avoid common words and well-known passwords; use an unrelated mix or a longer phrase.",
			"一般的な単語やよく使われるパスワードは避け、無関係な文字の組み合わせか長めの文にしてください。")
	}
	if repeats(lower) {
		return fail("Avoid runs like 'aaaa' or '1234'.", "「aaaa」や「1234」のような並びは避けてください。")
	}
	return nil
}

// isDictionaryLike: the password, with digits and symbols stripped and
// common substitutions undone, is (or is mostly) one dictionary word.
func isDictionaryLike(lower string) bool {
	if dictionary[lower] {
		return true
	}
	undo := strings.NewReplacer("@", "a", "4", "a", "3", "e", "1", "i", "!", "i", "0", "o", "$", "s", "5", "s", "7", "t")
	var letters strings.Builder
	for _, r := range undo.Replace(lower) {
		if unicode.IsLetter(r) {
			letters.WriteRune(r)
		}
	}
	core := letters.String()
	if core == "" {
		return false
	}
	if dictionary[core] {
		return true
	}
	// A dictionary word making up most of the letters ("Password2024!",
	// "Sakura#Tokyo1") is as guessable as the word itself.
	for w := range dictionary {
		if len(w) >= 4 && strings.Contains(core, w) && len(w)*10 >= len(core)*6 {
			return true
		}
	}
	return false
}

// repeats finds four equal or consecutive characters in a row.
func repeats(s string) bool {
	r := []rune(s)
	for i := 0; i+3 < len(r); i++ {
		same, up, down := true, true, true
		for j := 1; j < 4; j++ {
			same = same && r[i+j] == r[i]
			up = up && r[i+j] == r[i+j-1]+1
			down = down && r[i+j] == r[i+j-1]-1
		}
		if same || up || down {
			return true
		}
	}
	return false
}
