// Package mfa holds the second factors of the password flow: TOTP
// authenticators (RFC 6238 through github.com/pquerna/otp), recovery
// codes, and one-time codes sent by email or SMS. This file is the
// factor arithmetic; storage, the MFA API and the grants build on it.
package mfa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters every authenticator app understands.
const (
	totpPeriod = 30 * time.Second
	totpDigits = otp.DigitsSix
)

// NewTOTP makes a secret for a new authenticator and its otpauth:// URI
// (the "barcode_uri" the MFA API returns, shown as a QR code).
func NewTOTP(issuer, account string) (secret, uri string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, SecretSize: 20, Digits: totpDigits})
	if err != nil {
		return "", "", fmt.Errorf("mfa: new TOTP secret: %w", err)
	}
	return key.Secret(), TOTPURI(issuer, account, key.Secret()), nil
}

// TOTPURI is the otpauth:// URI of a TOTP secret, in the key URI format
// authenticator apps read (Google Authenticator's): the label
// issuer:account, and the issuer again as a parameter.
func TOTPURI(issuer, account, secret string) string {
	v := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"},
		"digits": {fmt.Sprint(totpDigits.Length())}, "period": {fmt.Sprint(int(totpPeriod / time.Second))}}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return u.String()
}

// VerifyTOTP checks code against secret at now, accepting the previous and
// the next time step too (one step of clock drift). It returns the step the
// code belongs to: the caller records it, and refuses a code whose step is
// not later than the last one used, so each code works once.
func VerifyTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	cur := now.Unix() / int64(totpPeriod/time.Second)
	matched := int64(-1)
	// Check every candidate step, so the time taken does not say which one
	// matched.
	for _, s := range []int64{cur - 1, cur, cur + 1} {
		if s < 0 {
			continue
		}
		ok, err := hotp.ValidateCustom(code, uint64(s), secret, hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err == nil && ok && matched < 0 {
			matched = s
		}
	}
	if matched < 0 {
		return 0, false
	}
	return matched, true
}

// recoveryAlphabet leaves out characters people confuse (0/O, 1/I/L).
const recoveryAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// recoveryLength gives 24 × log2(31) ≈ 119 bits: a fast hash is enough to
// store it.
const recoveryLength = 24

// NewRecoveryCode returns a recovery code to show the user once, and the
// hash to store.
func NewRecoveryCode() (code string, hash []byte) {
	b := make([]byte, recoveryLength)
	max := big.NewInt(int64(len(recoveryAlphabet)))
	for i := range b {
		n, _ := rand.Int(rand.Reader, max)
		b[i] = recoveryAlphabet[n.Int64()]
	}
	code = string(b)
	return code, HashRecoveryCode(code)
}

// HashRecoveryCode normalises what a user typed (case, spaces, dashes) and
// hashes it.
func HashRecoveryCode(code string) []byte {
	code = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(code))
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}

// SameHash compares two stored hashes in constant time.
func SameHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// ErrCodeFormat means a one-time code is not six digits.
var ErrCodeFormat = errors.New("mfa: a code is six digits")

// NewOneTimeCode returns a six-digit code for email or SMS.
func NewOneTimeCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

// HashOneTimeCode keys the hash of a six-digit code to its transaction
// with a server-side key: a million codes are too few to store under a
// plain hash, and the key keeps a leaked row from being guessed offline.
func HashOneTimeCode(key []byte, transaction, code string) ([]byte, error) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return nil, ErrCodeFormat
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(transaction))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil), nil
}
