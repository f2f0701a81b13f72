package database

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestCheckPolicyLevels(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		password string
		want     error // nil: accepted
	}{
		{"none accepts one character", PolicyNone, "a", nil},
		{"empty policy means none", "", "a", nil},
		{"none refuses empty", PolicyNone, "", ErrTooWeak},
		{"low needs six", PolicyLow, "abcde", ErrTooWeak},
		{"low accepts six", PolicyLow, "abcdef", nil},
		{"fair needs eight", PolicyFair, "Abcde12", ErrTooWeak},
		{"fair needs upper case", PolicyFair, "abcdefg1", ErrTooWeak},
		{"fair needs a digit", PolicyFair, "Abcdefgh", ErrTooWeak},
		{"fair does not count specials instead of a digit", PolicyFair, "Abcdefg!", ErrTooWeak},
		{"fair accepts lower upper digit", PolicyFair, "Abcdefg1", nil},
		{"good accepts three of four without digit", PolicyGood, "Abcdefg!", nil},
		{"good refuses two classes", PolicyGood, "abcdefg1", ErrTooWeak},
		{"good needs eight", PolicyGood, "Abcde!1", ErrTooWeak},
		{"excellent needs ten", PolicyExcellent, "Abcdefg!1", ErrTooWeak},
		{"excellent refuses three identical in a row", PolicyExcellent, "Abcdefg!111", ErrTooWeak},
		{"excellent accepts two identical in a row", PolicyExcellent, "Abcdefg!11x", nil},
		{"non-ASCII letters are no class", PolicyGood, "ñññññññ1", ErrTooWeak},
		{"length counts characters not bytes", PolicyLow, "ééééé", ErrTooWeak},
		{"over 72 bytes is refused", PolicyNone, strings.Repeat("a", 73), ErrTooLong},
		{"72 bytes is accepted", PolicyNone, strings.Repeat("a", 72), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPolicy(Options{PasswordPolicy: tt.policy}, tt.password, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckPolicy = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPolicy = %v, want %v", err, tt.want)
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Rule == "" {
				t.Fatalf("error %v is not a *PolicyError with a rule", err)
			}
			if pe.Error() != tt.want.Error() {
				t.Fatalf("message %q, want Auth0 text %q", pe.Error(), tt.want.Error())
			}
		})
	}
}

func TestCheckPolicyOptions(t *testing.T) {
	user := &store.User{Email: "jdoe@example.com", Name: "Jane Doe", Username: "janedoe", GivenName: "Jo"}
	dict := &PasswordDictionary{Enable: true, Dictionary: []string{"Gatehouse2024"}}
	tests := []struct {
		name     string
		opts     Options
		password string
		user     *store.User
		want     error
	}{
		{"min_length replaces the level minimum upwards", Options{PasswordPolicy: PolicyLow,
			PasswordComplexityOptions: &PasswordComplexityOptions{MinLength: 12}}, "abcdefghijk", nil, ErrTooWeak},
		{"min_length replaces the level minimum downwards", Options{PasswordPolicy: PolicyLow,
			PasswordComplexityOptions: &PasswordComplexityOptions{MinLength: 3}}, "abc", nil, nil},
		{"built-in dictionary refuses common passwords", Options{PasswordDictionary: dict}, "Password123", nil, ErrTooCommon},
		{"custom dictionary is case-insensitive", Options{PasswordDictionary: dict}, "gatehouse2024", nil, ErrTooCommon},
		{"dictionary compares whole passwords", Options{PasswordDictionary: dict}, "gatehouse2024x", nil, nil},
		{"dictionary off accepts common passwords", Options{}, "password", nil, nil},
		{"personal info refuses email local part", Options{PasswordNoPersonalInfo: &PasswordNoPersonalInfo{Enable: true}},
			"xxJDOE!99", user, ErrContainsUserInfo},
		{"personal info refuses username", Options{PasswordNoPersonalInfo: &PasswordNoPersonalInfo{Enable: true}},
			"my-janedoe-pw", user, ErrContainsUserInfo},
		{"personal info ignores values under three characters", Options{PasswordNoPersonalInfo: &PasswordNoPersonalInfo{Enable: true}},
			"jo-something", user, nil},
		{"personal info off accepts", Options{}, "janedoe", user, nil},
		{"personal info without a user accepts", Options{PasswordNoPersonalInfo: &PasswordNoPersonalInfo{Enable: true}},
			"janedoe", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPolicy(tt.opts, tt.password, tt.user)
			if tt.want == nil && err != nil {
				t.Fatalf("CheckPolicy = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckPolicy = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr bool
		check   func(t *testing.T, o Options)
	}{
		{"empty is policy none", "", false, func(t *testing.T, o Options) {
			if o.PasswordPolicy != "" || o.RequiresUsername {
				t.Errorf("got %+v", o)
			}
		}},
		{"null is policy none", "null", false, nil},
		{"reads Auth0 keys and ignores others", `{"passwordPolicy":"good","requires_username":true,
			"password_complexity_options":{"min_length":9},"password_history":{"enable":true,"size":5},
			"password_dictionary":{"enable":true,"dictionary":["x"]},"password_no_personal_info":{"enable":true},
			"validation":{"username":{"min":3,"max":20}},"brute_force_protection":true,"mfa":{"active":true}}`, false,
			func(t *testing.T, o Options) {
				if o.PasswordPolicy != PolicyGood || !o.RequiresUsername || o.PasswordComplexityOptions.MinLength != 9 ||
					!o.PasswordDictionary.Enable || !o.PasswordNoPersonalInfo.Enable || o.PasswordHistory.Size != 5 {
					t.Errorf("got %+v", o)
				}
				if lo, hi := o.UsernameBounds(); lo != 3 || hi != 20 {
					t.Errorf("UsernameBounds = %d, %d", lo, hi)
				}
			}},
		{"default username bounds", `{}`, false, func(t *testing.T, o Options) {
			if lo, hi := o.UsernameBounds(); lo != 1 || hi != 15 {
				t.Errorf("UsernameBounds = %d, %d", lo, hi)
			}
		}},
		{"unknown policy level", `{"passwordPolicy":"strong"}`, true, nil},
		{"policy of wrong type", `{"passwordPolicy":3}`, true, nil},
		{"min_length over 72", `{"password_complexity_options":{"min_length":73}}`, true, nil},
		{"history size over 24", `{"password_history":{"enable":true,"size":25}}`, true, nil},
		{"username min above max", `{"validation":{"username":{"min":5,"max":2}}}`, true, nil},
		{"not an object", `[1]`, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOptions(json.RawMessage(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseOptions error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestStrengthReport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy, password string
		verified         bool
		codes            []string
		policyText       string
	}{
		{PolicyNone, "x", true, []string{"nonEmpty"}, "* Non-empty password required"},
		{PolicyLow, "abc", false, []string{"lengthAtLeast"}, "* At least 6 characters in length"},
		{PolicyFair, "abcdefgh", false, []string{"lengthAtLeast", "shouldContain"}, ""},
		{PolicyGood, "Abcdefg1", true, []string{"lengthAtLeast", "containsAtLeast"}, ""},
		{PolicyExcellent, "Abbbcdefg1!", false, []string{"lengthAtLeast", "containsAtLeast", "identicalChars"}, ""},
	} {
		r := StrengthReport(Options{PasswordPolicy: tc.policy}, tc.password)
		var codes []string
		for _, rule := range r.Rules {
			codes = append(codes, rule.Code)
		}
		if r.Verified != tc.verified || strings.Join(codes, ",") != strings.Join(tc.codes, ",") {
			t.Errorf("%s %q: verified %v codes %v", tc.policy, tc.password, r.Verified, codes)
		}
		if tc.policyText != "" && r.Policy != tc.policyText {
			t.Errorf("%s: policy %q", tc.policy, r.Policy)
		}
		// The strength rules agree with CheckPolicy.
		if ok := CheckPolicy(Options{PasswordPolicy: tc.policy}, tc.password, nil) == nil; ok != r.Verified {
			t.Errorf("%s %q: report %v, CheckPolicy %v", tc.policy, tc.password, r.Verified, ok)
		}
	}
	if r := StrengthReport(Options{PasswordPolicy: PolicyGood}, "ab"); !strings.Contains(r.Policy, " * special characters (e.g. !@#$%^&*)") {
		t.Errorf("policy text %q", r.Policy)
	}
}
