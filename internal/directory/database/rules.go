package database

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Rule is one line of a password policy as Auth0's signup and reset
// errors list it (the password-sheriff format): a message with %d/%s
// verbs, their values, a code, whether the password met it, and sub-rules
// for the character classes.
type Rule struct {
	Message  string `json:"message"`
	Format   []any  `json:"format,omitempty"`
	Code     string `json:"code"`
	Verified bool   `json:"verified"`
	Items    []Rule `json:"items,omitempty"`
}

// Report is a password checked against a connection's strength level:
// every rule with its outcome, and the policy as the bulleted text Auth0
// sends beside it.
type Report struct {
	Rules    []Rule `json:"rules"`
	Verified bool   `json:"verified"`
	Policy   string `json:"-"`
}

// StrengthReport lists the rules of the connection's strength level (and
// min_length) and which of them password meets. It covers the strength
// rules only; the dictionary, personal-information and length-cap checks
// are CheckPolicy's.
func StrengthReport(opts Options, password string) Report {
	lv, ok := levelFor(opts.PasswordPolicy)
	if !ok {
		lv = level{minLength: 1}
	}
	if c := opts.PasswordComplexityOptions; c != nil && c.MinLength > 0 {
		lv.minLength = c.MinLength
	}
	lower, upper, digit, special := classify(password)
	classes := []Rule{
		{Message: "lower case letters (a-z)", Code: "lowerCase", Verified: lower},
		{Message: "upper case letters (A-Z)", Code: "upperCase", Verified: upper},
		{Message: "numbers (i.e. 0-9)", Code: "numbers", Verified: digit},
		{Message: "special characters (e.g. !@#$%^&*)", Code: "specialCharacters", Verified: special},
	}
	var r Report
	if lv.minLength <= 1 {
		r.Rules = append(r.Rules, Rule{Message: "Non-empty password required", Code: "nonEmpty", Verified: password != ""})
	} else {
		r.Rules = append(r.Rules, Rule{Message: "At least %d characters in length", Format: []any{lv.minLength},
			Code: "lengthAtLeast", Verified: utf8.RuneCountInString(password) >= lv.minLength})
	}
	if lv.requireAll {
		items := classes[:3]
		r.Rules = append(r.Rules, Rule{Message: "Should contain:", Code: "shouldContain", Items: items,
			Verified: lower && upper && digit})
	}
	if lv.classes > 0 {
		r.Rules = append(r.Rules, Rule{Message: "Contain at least %d of the following %d types of characters:",
			Format: []any{lv.classes, len(classes)}, Code: "containsAtLeast", Items: classes,
			Verified: countTrue(lower, upper, digit, special) >= lv.classes})
	}
	if lv.maxRun > 0 {
		r.Rules = append(r.Rules, Rule{Message: "No more than %d identical characters in a row (e.g., \"%s\" not allowed)",
			Format: []any{lv.maxRun, strings.Repeat("a", lv.maxRun+1)}, Code: "identicalChars",
			Verified: longestRun(password) <= lv.maxRun})
	}
	r.Verified = true
	var b strings.Builder
	for _, rule := range r.Rules {
		r.Verified = r.Verified && rule.Verified
		fmt.Fprintf(&b, "* %s\n", rule.text())
		for _, it := range rule.Items {
			fmt.Fprintf(&b, " * %s\n", it.text())
		}
	}
	r.Policy = strings.TrimSuffix(b.String(), "\n")
	return r
}

// text is the message with its format values filled in.
func (r Rule) text() string {
	if len(r.Format) == 0 {
		return r.Message
	}
	return fmt.Sprintf(r.Message, r.Format...)
}
