package database

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Policy levels of a database connection (options.passwordPolicy).
const (
	PolicyNone      = "none"
	PolicyLow       = "low"
	PolicyFair      = "fair"
	PolicyGood      = "good"
	PolicyExcellent = "excellent"
)

// MaxPasswordBytes is the longest password a policy accepts. bcrypt (Auth0's
// hash, and ours when configured) ignores every byte past 72, so a longer
// password would silently be truncated; it is refused instead.
const MaxPasswordBytes = 72

// The texts of these errors are Auth0's, shown to API callers as they are.
var (
	ErrTooWeak          = errors.New("PasswordStrengthError: Password is too weak")
	ErrTooLong          = errors.New("PasswordStrengthError: Password is too long")
	ErrTooCommon        = errors.New("PasswordDictionaryError: Password is too common")
	ErrContainsUserInfo = errors.New("PasswordNoUserInfoError: Password contains user information")
)

// PolicyError says why a password was refused. Error() is the Auth0 text of
// Kind; Rule names the failed rule for logs (never the password).
type PolicyError struct {
	Kind error
	Rule string
}

func (e *PolicyError) Error() string { return e.Kind.Error() }
func (e *PolicyError) Unwrap() error { return e.Kind }

// level is one of Auth0's preset strength rules.
type level struct {
	minLength int
	// classes is how many of lower, upper, digit, special must appear;
	// requireAll means lower, upper and digit must each appear (fair).
	classes    int
	requireAll bool
	// maxRun caps runs of one repeated character (0: no cap).
	maxRun int
}

func levelFor(name string) (level, bool) {
	switch name {
	case "", PolicyNone:
		return level{minLength: 1}, true
	case PolicyLow:
		return level{minLength: 6}, true
	case PolicyFair:
		return level{minLength: 8, requireAll: true}, true
	case PolicyGood:
		return level{minLength: 8, classes: 3}, true
	case PolicyExcellent:
		return level{minLength: 10, classes: 3, maxRun: 2}, true
	}
	return level{}, false
}

// CheckPolicy reports whether password may be set for u under the
// connection's options. u may be nil (no personal-information check then).
// Lengths are counted in characters, except the 72-byte cap. The returned
// error is a *PolicyError.
func CheckPolicy(opts Options, password string, u *store.User) error {
	if len(password) > MaxPasswordBytes {
		return &PolicyError{Kind: ErrTooLong, Rule: fmt.Sprintf("longer than %d bytes", MaxPasswordBytes)}
	}
	lv, ok := levelFor(opts.PasswordPolicy)
	if !ok {
		return fmt.Errorf("passwords: unknown password policy %q", opts.PasswordPolicy)
	}
	if c := opts.PasswordComplexityOptions; c != nil && c.MinLength > 0 {
		lv.minLength = c.MinLength
	}
	if n := utf8.RuneCountInString(password); n < lv.minLength {
		return &PolicyError{Kind: ErrTooWeak, Rule: fmt.Sprintf("shorter than %d characters", lv.minLength)}
	}
	lower, upper, digit, special := classify(password)
	if lv.requireAll && !(lower && upper && digit) {
		return &PolicyError{Kind: ErrTooWeak, Rule: "needs lower case, upper case and digits"}
	}
	if lv.classes > 0 && countTrue(lower, upper, digit, special) < lv.classes {
		return &PolicyError{Kind: ErrTooWeak, Rule: fmt.Sprintf("needs %d of lower case, upper case, digits, special characters", lv.classes)}
	}
	if lv.maxRun > 0 && longestRun(password) > lv.maxRun {
		return &PolicyError{Kind: ErrTooWeak, Rule: fmt.Sprintf("more than %d identical characters in a row", lv.maxRun)}
	}
	if d := opts.PasswordDictionary; d != nil && d.Enable && inDictionary(password, d.Dictionary) {
		return &PolicyError{Kind: ErrTooCommon, Rule: "dictionary word"}
	}
	if p := opts.PasswordNoPersonalInfo; p != nil && p.Enable && u != nil && containsUserInfo(password, u) {
		return &PolicyError{Kind: ErrContainsUserInfo, Rule: "contains personal information"}
	}
	return nil
}

// classify reports which of Auth0's character classes appear. Like Auth0,
// the classes are ASCII: letters outside a–z/A–Z count as none of them.
func classify(s string) (lower, upper, digit, special bool) {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r == ' ' || (r < 0x7f && r > ' '):
			special = true
		}
	}
	return
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func longestRun(s string) int {
	longest, run := 0, 0
	var prev rune = -1
	for _, r := range s {
		if r == prev {
			run++
		} else {
			run, prev = 1, r
		}
		longest = max(longest, run)
	}
	return longest
}

// isCommon reports whether p (lower case) is on a short built-in list of the
// passwords seen most often in breaches; the dictionary check always refuses them.
func isCommon(p string) bool {
	switch p {
	case
		"123456", "12345678", "123456789", "1234567890", "12345", "1234567", "111111", "000000",
		"123123", "654321", "666666", "121212", "112233", "987654321", "1q2w3e4r", "1qaz2wsx",
		"password", "password1", "password123", "passw0rd", "p@ssw0rd", "qwerty", "qwerty123",
		"qwertyuiop", "asdfghjkl", "zxcvbnm", "abc123", "abcd1234", "iloveyou", "admin", "admin123",
		"welcome", "welcome1", "letmein", "monkey", "dragon", "football", "baseball", "sunshine",
		"princess", "master", "shadow", "superman", "trustno1", "starwars", "whatever", "freedom",
		"changeme", "secret", "login", "hello123", "qazwsx", "michael", "charlie", "jordan23":
		return true
	}
	return false
}

// inDictionary compares whole passwords, case-insensitively, as Auth0 does.
func inDictionary(password string, custom []string) bool {
	p := strings.ToLower(password)
	if isCommon(p) {
		return true
	}
	for _, w := range custom {
		if strings.EqualFold(w, password) {
			return true
		}
	}
	return false
}

// minInfoLength ignores very short profile values (such as a two-letter
// given name), which would otherwise forbid far too many passwords.
const minInfoLength = 3

// containsUserInfo reports whether the password contains, case-insensitively,
// the user's name, nickname, username, given or family name, or the local
// part of the email address.
func containsUserInfo(password string, u *store.User) bool {
	p := strings.ToLower(password)
	local, _, _ := strings.Cut(u.Email, "@")
	for _, v := range []string{u.Name, u.Nickname, u.Username, u.GivenName, u.FamilyName, local} {
		v = strings.ToLower(strings.TrimSpace(v))
		if utf8.RuneCountInString(v) >= minInfoLength && strings.Contains(p, v) {
			return true
		}
	}
	return false
}
