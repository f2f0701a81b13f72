// Package passwordless is the "email" and "sms" connection strategies:
// users who log in with a one-time code sent to their address or number
// (POST /passwordless/start, then the passwordless/otp grant). It owns the
// connections' options, the form of identifiers and codes, and the hash
// a code is stored under; sending and checking live in selfservice and
// oauth/grants.
package passwordless

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Strategy names, which are also the names of their connections and the
// realm the grant is asked with.
const (
	Email = "email"
	SMS   = "sms"
)

// Defaults and bounds of a connection's totp options. Auth0's dashboard
// starts new passwordless connections at a 6-digit code valid 180 seconds.
const (
	DefaultLength   = 6
	DefaultTimeStep = 180
	minLength       = 4
	maxLength       = 10
	minTimeStep     = 30
	maxTimeStep     = 86400
	// MaxAttempts is how many wrong codes one code survives: the next
	// wrong one spends it and the user asks for a new one.
	MaxAttempts = 3
)

// Options is what gatehouse acts on in an email or sms connection's
// options; other keys are kept as given.
type Options struct {
	Name     string `json:"name,omitempty"`
	From     string `json:"from,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Syntax   string `json:"syntax,omitempty"`
	Template string `json:"template,omitempty"`
	TOTP     *TOTP  `json:"totp,omitempty"`
	// DisableSignup sends codes only to users the connection has.
	DisableSignup        bool  `json:"disable_signup,omitempty"`
	BruteForceProtection *bool `json:"brute_force_protection,omitempty"`
}

// TOTP is options.totp: the code's lifetime and length.
type TOTP struct {
	TimeStep int `json:"time_step,omitempty"`
	Length   int `json:"length,omitempty"`
}

// Length is the number of digits of the connection's codes.
func (o Options) Length() int {
	if o.TOTP != nil && o.TOTP.Length > 0 {
		return o.TOTP.Length
	}
	return DefaultLength
}

// TTL is how long a code stays valid.
func (o Options) TTL() time.Duration {
	if o.TOTP != nil && o.TOTP.TimeStep > 0 {
		return time.Duration(o.TOTP.TimeStep) * time.Second
	}
	return DefaultTimeStep * time.Second
}

// ParseOptions reads a passwordless connection's options; empty or null
// options are the defaults.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := directory.DecodeOptions(raw, &o); err != nil {
		return Options{}, err
	}
	if t := o.TOTP; t != nil {
		if t.Length != 0 && (t.Length < minLength || t.Length > maxLength) {
			return Options{}, &directory.OptionsError{Field: "options.totp.length",
				Message: fmt.Sprintf("totp.length must be between %d and %d", minLength, maxLength)}
		}
		if t.TimeStep != 0 && (t.TimeStep < minTimeStep || t.TimeStep > maxTimeStep) {
			return Options{}, &directory.OptionsError{Field: "options.totp.time_step",
				Message: fmt.Sprintf("totp.time_step must be between %d and %d seconds", minTimeStep, maxTimeStep)}
		}
	}
	switch o.Syntax {
	case "", "liquid", "md_with_macros":
	default:
		return Options{}, &directory.OptionsError{Field: "options.syntax", Message: "syntax must be liquid or md_with_macros"}
	}
	if strings.ContainsAny(o.Subject, "\r\n") {
		return Options{}, &directory.OptionsError{Field: "options.subject", Message: "subject must be one line"}
	}
	for field, text := range map[string]string{"options.subject": o.Subject, "options.template": o.Template, "options.from": o.From} {
		if err := notify.Check(text); err != nil {
			return Options{}, &directory.OptionsError{Field: field, Message: field + ": " + err.Error()}
		}
	}
	if strings.ContainsAny(o.From, "\r\n") {
		return Options{}, &directory.OptionsError{Field: "options.from", Message: "from must be one line"}
	}
	return o, nil
}

// Strategy serves the connections of one passwordless strategy: it only
// checks their options (codes are not passwords, so it has no verifier).
type Strategy struct{ Kind string }

// Name implements directory.Strategy.
func (s Strategy) Name() string { return s.Kind }

// ValidateOptions implements directory.Strategy: options are stored as
// given ({} for none) once they parse.
func (s Strategy) ValidateOptions(options json.RawMessage) (json.RawMessage, error) {
	return directory.ValidateObject(options, func(o json.RawMessage) error {
		_, err := ParseOptions(o)
		return err
	})
}

// Is reports whether conn is a passwordless connection.
func Is(conn *store.Connection) bool {
	return conn != nil && (conn.Strategy == Email || conn.Strategy == SMS)
}

// ErrIdentifier is an email address or phone number in the wrong form.
var ErrIdentifier = errors.New("passwordless: malformed identifier")

// Normalize returns the identifier of strategy kind as codes and users are
// keyed: a lower-cased email address, or a phone number as + and digits
// (spaces, dashes, dots and parentheses dropped).
func Normalize(kind, id string) (string, error) {
	id = strings.TrimSpace(id)
	switch kind {
	case Email:
		e := strings.ToLower(id)
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 254 {
			return "", ErrIdentifier
		}
		return e, nil
	case SMS:
		p := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '-', '.', '(', ')':
				return -1
			}
			return r
		}, id)
		digits := strings.TrimPrefix(p, "+")
		if len(p) == len(digits) || len(digits) < 6 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" || digits[0] == '0' {
			return "", ErrIdentifier
		}
		return p, nil
	}
	return "", fmt.Errorf("passwordless: strategy %q", kind)
}

// RecordID is the key of the code record of an identifier.
func RecordID(conn *store.Connection, identifier string) string {
	return conn.ID + "|" + identifier
}

// NewCode draws a code of n decimal digits.
func NewCode(n int) string {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, limit)
	if err != nil {
		panic("passwordless: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%0*s", n, v.String())
}

// Hash keys a code's hash to its record with a server-side key: a few
// million codes are too few to store under a plain hash.
func Hash(key []byte, recordID, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse passwordless code v1|"))
	m.Write([]byte(recordID))
	m.Write([]byte{0})
	m.Write([]byte(strings.TrimSpace(code)))
	return m.Sum(nil)
}

// UserIDPart is the id of the user of a phone number in an sms connection
// (sms|<part>): derived from the connection and number, so two first logins
// at once create one user, as the email column's uniqueness does for email.
func UserIDPart(conn *store.Connection, identifier string) string {
	sum := sha256.Sum256([]byte("gatehouse passwordless user v1|" + conn.ID + "|" + identifier))
	return fmt.Sprintf("%x", sum[:12])
}
