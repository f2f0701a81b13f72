package database

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/directory"
)

// Options is the part of an "auth0" (database) connection's options that
// gatehouse acts on. Other keys of the options document are ignored here
// and kept verbatim by the store.
type Options struct {
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

// ParseOptions reads the options document of an auth0 connection. Empty or
// null options give the zero value (policy none). Known keys with a wrong
// type or an out-of-range value are errors (an *directory.OptionsError
// naming the field); unknown keys are ignored.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return o, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return Options{}, jsonOptionsError(err)
	}
	if err := o.Validate(); err != nil {
		return Options{}, err
	}
	return o, nil
}

// jsonOptionsError names the field a decoding error is about, when the
// decoder says which.
func jsonOptionsError(err error) *directory.OptionsError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return &directory.OptionsError{Field: "options", Message: fmt.Sprintf("Expected type object but found type %s", te.Value)}
		}
		return &directory.OptionsError{Field: "options." + te.Field,
			Message: fmt.Sprintf("options.%s: expected type %s but found type %s", te.Field, jsonType(te.Type.Kind().String()), te.Value)}
	}
	return &directory.OptionsError{Field: "options", Message: "connection options: " + err.Error()}
}

// jsonType names a Go kind as JSON calls it.
func jsonType(kind string) string {
	switch kind {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return "number"
}

// Validate checks the values a caller may set; the error is an
// *directory.OptionsError.
func (o Options) Validate() error {
	switch o.PasswordPolicy {
	case "", PolicyNone, PolicyLow, PolicyFair, PolicyGood, PolicyExcellent:
	default:
		return &directory.OptionsError{Field: "options.passwordPolicy",
			Message: fmt.Sprintf("passwordPolicy must be one of none, low, fair, good, excellent (got %q)", o.PasswordPolicy)}
	}
	if c := o.PasswordComplexityOptions; c != nil && (c.MinLength < 0 || c.MinLength > MaxPasswordBytes) {
		return &directory.OptionsError{Field: "options.password_complexity_options.min_length",
			Message: fmt.Sprintf("password_complexity_options.min_length must be between 1 and %d", MaxPasswordBytes)}
	}
	if h := o.PasswordHistory; h != nil && (h.Size < 0 || h.Size > 24) {
		return &directory.OptionsError{Field: "options.password_history.size",
			Message: "password_history.size must be between 0 and 24"}
	}
	if v := o.Validation; v != nil && v.Username != nil {
		u := v.Username
		if u.Min < 1 || u.Max > 128 || u.Min > u.Max {
			return &directory.OptionsError{Field: "options.validation.username",
				Message: "validation.username needs 1 <= min <= max <= 128"}
		}
	}
	return nil
}

// UsernameBounds returns the allowed username length in characters.
func (o Options) UsernameBounds() (min, max int) {
	if o.Validation != nil && o.Validation.Username != nil {
		return o.Validation.Username.Min, o.Validation.Username.Max
	}
	return defaultUsernameMin, defaultUsernameMax
}
