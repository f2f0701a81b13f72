package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// The MFA grant this example speaks: a code from an authenticator app.
const grantMFAOTP = "http://auth0.com/oauth/grant-type/mfa-otp"

// mfaRequired is the password grant's 403 mfa_required: the login needs a
// second factor, asked for with the mfa_token.
type mfaRequired struct{ token string }

func (e *mfaRequired) Error() string { return "multi-factor authentication required" }

// authenticator is one entry of GET /mfa/authenticators.
type authenticator struct {
	ID     string `json:"id"`
	Type   string `json:"authenticator_type"`
	Active bool   `json:"active"`
}

// secondFactor finishes a login that answered mfa_required: it enrols an
// authenticator app when the user has none (showing the otpauth URI as a
// QR code, and the recovery code), then trades a code for the tokens.
func (a *app) secondFactor(ctx context.Context, mfaToken string) (*credentials, error) {
	var auths []authenticator
	if err := a.mfaCall(ctx, "GET", "/mfa/authenticators", mfaToken, nil, &auths); err != nil {
		return nil, fmt.Errorf("list authenticators: %w", err)
	}
	enrolled := false
	for _, x := range auths {
		if x.Active && x.Type == "otp" {
			enrolled = true
		}
	}
	if !enrolled {
		for _, x := range auths {
			if x.Active && x.Type != "recovery-code" {
				return nil, fmt.Errorf("this account's second factor is %q; this example only handles authenticator apps (otp)", x.Type)
			}
		}
		if err := a.enrolOTP(ctx, mfaToken); err != nil {
			return nil, err
		}
	}
	// The same mfa_token takes a few tries: a mistyped code is no reason
	// to type the password again.
	var err error
	for range 3 {
		fmt.Fprint(a.out, "Code from your authenticator app: ")
		var code string
		if code, err = a.readLine(); err != nil {
			return nil, err
		}
		code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
		var creds *credentials
		creds, err = a.token(ctx, url.Values{"grant_type": {grantMFAOTP}, "mfa_token": {mfaToken}, "otp": {code}}, nil)
		if err == nil {
			return creds, nil
		}
		var wrong *wrongCode
		if !errors.As(err, &wrong) {
			return nil, err
		}
		fmt.Fprintln(a.out, "That code was not accepted.")
	}
	return nil, err
}

// enrolOTP associates an authenticator app and shows what to scan.
func (a *app) enrolOTP(ctx context.Context, mfaToken string) error {
	var enrolment struct {
		Secret        string   `json:"secret"`
		BarcodeURI    string   `json:"barcode_uri"`
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := a.mfaCall(ctx, "POST", "/mfa/associate", mfaToken, map[string]any{"authenticator_types": []string{"otp"}}, &enrolment); err != nil {
		return fmt.Errorf("enrol an authenticator app: %w", err)
	}
	fmt.Fprintln(a.out, "This account needs a second factor. Scan this QR code with an authenticator app")
	fmt.Fprintln(a.out, "(or enter the secret "+enrolment.Secret+" by hand):")
	if code, err := terminalQR(enrolment.BarcodeURI); err == nil {
		fmt.Fprint(a.out, code)
	}
	fmt.Fprintln(a.out, enrolment.BarcodeURI)
	for _, c := range enrolment.RecoveryCodes {
		fmt.Fprintln(a.out, "Recovery code (keep it somewhere safe; it logs you in once without the app):", c)
	}
	return nil
}

// mfaCall calls the MFA API with the mfa_token as bearer.
func (a *app) mfaCall(ctx context.Context, method, path, mfaToken string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.domain+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+mfaToken)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("reach gatehouse: %w", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		dec.Decode(&e)
		return fmt.Errorf("gatehouse answered %s: %s %s", resp.Status, e.Error, e.Description)
	}
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("gatehouse answered %s with an unreadable body", resp.Status)
	}
	return nil
}

// terminalQR draws text as a QR code with Unicode half blocks, two rows
// of modules per line. Light modules (and the quiet zone) are printed as
// blocks in the terminal's text colour: on the usual light-on-dark
// terminal that gives dark modules on a light ground, as scanners expect.
func terminalQR(text string) (string, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	const quiet = 2
	n := code.Bounds().Dx()
	light := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		if x < 0 || y < 0 || x >= n || y >= n {
			return true
		}
		r, _, _, _ := code.At(x, y).RGBA()
		return r > 0x7fff
	}
	var b strings.Builder
	for y := 0; y < n+2*quiet; y += 2 {
		for x := 0; x < n+2*quiet; x++ {
			top, bottom := light(x, y), y+1 < n+2*quiet && light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}
