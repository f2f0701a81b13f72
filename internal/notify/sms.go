package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SMS sends text messages.
type SMS interface {
	SendSMS(ctx context.Context, to, text string) error
}

// Twilio sends text messages through Twilio's Messages API, or any service
// that speaks it (POST {BaseURL}/2010-04-01/Accounts/{sid}/Messages.json,
// Basic auth with the account SID and auth token).
type Twilio struct {
	BaseURL    string // default https://api.twilio.com
	AccountSID string
	AuthToken  string
	From       string // a phone number, or a messaging service SID (MG...)
	Client     *http.Client
}

// SendSMS implements SMS.
func (t *Twilio) SendSMS(ctx context.Context, to, text string) error {
	if t.AccountSID == "" || t.AuthToken == "" || t.From == "" {
		return errors.New("notify: Twilio account SID, auth token and sender are required")
	}
	base := t.BaseURL
	if base == "" {
		base = "https://api.twilio.com"
	}
	form := url.Values{"To": {to}, "Body": {text}}
	if strings.HasPrefix(t.From, "MG") {
		form.Set("MessagingServiceSid", t.From)
	} else {
		form.Set("From", t.From)
	}
	u := strings.TrimSuffix(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("notify: SMS request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: SMS request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	return fmt.Errorf("notify: SMS provider answered %d (code %d: %.200s)", resp.StatusCode, e.Code, e.Message)
}

// LogSMS writes each text message to the log instead of sending it: for
// development only.
type LogSMS struct{ Logger *slog.Logger }

// SendSMS implements SMS.
func (l LogSMS) SendSMS(ctx context.Context, to, text string) error {
	l.Logger.WarnContext(ctx, "no SMS provider configured: text message not sent, its text follows",
		slog.String("to", to), slog.String("text", text))
	return nil
}
