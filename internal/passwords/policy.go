package passwords

import (
	"bytes"
	"encoding/json"
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

// DatabaseOptions is the part of an "auth0" (database) connection's options
// that gatehouse acts on. Other keys of the options document are ignored here
// and kept verbatim by the store.
type DatabaseOptions struct {
	RequiresUsername bool               `json:"requires_username"`
	Validation       *ValidationOptions `json:"validation,omitempty"`

	// PasswordPolicy is none, low, fair, good or excellent; empty means none.
	PasswordPolicy            string                     `json:"passwordPolicy,omitempty"`
	PasswordComplexityOptions *PasswordComplexityOptions `json:"password_complexity_options,omitempty"`
	// PasswordHistory is stored and returned but not enforced: gatehouse
	// keeps no history of a user's former password hashes.
	PasswordHistory        *PasswordHistory        `json:"password_history,omitempty"`
	PasswordNoPersonalInfo *PasswordNoPersonalInfo `json:"password_no_personal_info,omitempty"`
	PasswordDictionary     *PasswordDictionary     `json:"password_dictionary,omitempty"`

	BruteForceProtection *bool `json:"brute_force_protection,omitempty"`
	DisableSignup        bool  `json:"disable_signup,omitempty"`
}

// ValidationOptions holds options.validation.
type ValidationOptions struct {
	Username *UsernameLength `json:"username,omitempty"`
}

// UsernameLength bounds usernames (Auth0 default 1…15).
type UsernameLength struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// PasswordComplexityOptions holds options.password_complexity_options.
type PasswordComplexityOptions struct {
	// MinLength, when set, replaces the level's minimum length (as in Auth0).
	MinLength int `json:"min_length,omitempty"`
}

// PasswordHistory holds options.password_history.
type PasswordHistory struct {
	Enable bool `json:"enable"`
	Size   int  `json:"size,omitempty"`
}

// PasswordNoPersonalInfo holds options.password_no_personal_info.
type PasswordNoPersonalInfo struct {
	Enable bool `json:"enable"`
}

// PasswordDictionary holds options.password_dictionary.
type PasswordDictionary struct {
	Enable     bool     `json:"enable"`
	Dictionary []string `json:"dictionary,omitempty"`
}

// Default username bounds of an Auth0 database connection.
const (
	defaultUsernameMin = 1
	defaultUsernameMax = 15
)

// ParseDatabaseOptions reads the options document of an auth0 connection.
// Empty or null options give the zero value (policy none). Known keys with
// a wrong type or an out-of-range value are errors; unknown keys are ignored.
func ParseDatabaseOptions(raw json.RawMessage) (DatabaseOptions, error) {
	var o DatabaseOptions
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return o, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return DatabaseOptions{}, fmt.Errorf("connection options: %w", err)
	}
	if err := o.Validate(); err != nil {
		return DatabaseOptions{}, err
	}
	return o, nil
}

// Validate checks the values a caller may set.
func (o DatabaseOptions) Validate() error {
	switch o.PasswordPolicy {
	case "", PolicyNone, PolicyLow, PolicyFair, PolicyGood, PolicyExcellent:
	default:
		return fmt.Errorf("passwordPolicy must be one of none, low, fair, good, excellent (got %q)", o.PasswordPolicy)
	}
	if c := o.PasswordComplexityOptions; c != nil && (c.MinLength < 0 || c.MinLength > MaxPasswordBytes) {
		return fmt.Errorf("password_complexity_options.min_length must be between 1 and %d", MaxPasswordBytes)
	}
	if h := o.PasswordHistory; h != nil && (h.Size < 0 || h.Size > 24) {
		return errors.New("password_history.size must be between 0 and 24")
	}
	if v := o.Validation; v != nil && v.Username != nil {
		u := v.Username
		if u.Min < 1 || u.Max > 128 || u.Min > u.Max {
			return errors.New("validation.username needs 1 <= min <= max <= 128")
		}
	}
	return nil
}

// UsernameBounds returns the allowed username length in characters.
func (o DatabaseOptions) UsernameBounds() (min, max int) {
	if o.Validation != nil && o.Validation.Username != nil {
		return o.Validation.Username.Min, o.Validation.Username.Max
	}
	return defaultUsernameMin, defaultUsernameMax
}

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
func CheckPolicy(opts DatabaseOptions, password string, u *store.User) error {
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
