// Package notify delivers what gatehouse sends to people: email through an
// SMTP server, and text messages through an SMS provider (a
// Twilio-compatible HTTP API). Without a configured server the Log
// implementations write the message to the process log at warn level, so a
// developer can still follow a reset link or type a code.
package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Email is one message to one person: plain text, or HTML when HTML is
// set.
type Email struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// From, when set, replaces the configured sender in the From header
	// (the envelope keeps the configured address).
	From string
}

// Mailer sends email.
type Mailer interface {
	SendMail(ctx context.Context, e Email) error
}

// TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // upgrade after connecting; refuse a server that cannot
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain text (a relay on the same host)
)

// SMTPConfig is how to reach the mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no AUTH
	Password string
	TLS      string // TLSStartTLS (default), TLSImplicit or TLSNone
	From     string // the envelope and header sender, e.g. "Example <no-reply@example.com>"
	Timeout  time.Duration
	// RootCAs, when set, replaces the system's roots (tests, private CAs).
	RootCAs *x509.CertPool
}

// SMTP sends email through an SMTP server, one connection per message.
type SMTP struct {
	cfg  SMTPConfig
	from *mail.Address
}

// NewSMTP checks cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("notify: SMTP host is required")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("notify: SMTP TLS mode %q (want starttls, tls or none)", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP from address %q: %w", cfg.From, err)
	}
	return &SMTP{cfg: cfg, from: from}, nil
}

// SendMail implements Mailer.
func (m *SMTP) SendMail(ctx context.Context, e Email) error {
	to, err := mail.ParseAddress(e.To)
	if err != nil {
		return fmt.Errorf("notify: recipient: %w", err)
	}
	if strings.ContainsAny(e.Subject, "\r\n") {
		return errors.New("notify: subject holds a line break")
	}
	from := m.from
	if e.From != "" {
		if from, err = mail.ParseAddress(e.From); err != nil {
			return fmt.Errorf("notify: sender: %w", err)
		}
	}
	msg, err := m.compose(from, to, e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	tc := &tls.Config{ServerName: m.cfg.Host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	d := &net.Dialer{}
	if m.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("notify: connect to %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		return fmt.Errorf("notify: SMTP greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("notify: EHLO: %w", err)
	}
	if m.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("notify: the SMTP server does not offer STARTTLS (set the TLS mode to none to send in the clear)")
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("notify: STARTTLS: %w", err)
		}
	}
	if m.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.cfg.Host)); err != nil {
			return fmt.Errorf("notify: SMTP AUTH: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("notify: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("notify: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("notify: write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: message refused: %w", err)
	}
	return c.Quit()
}

// compose renders the headers and a quoted-printable UTF-8 body.
func (m *SMTP) compose(from, to *mail.Address, e Email) ([]byte, error) {
	var b bytes.Buffer
	id := make([]byte, 12)
	rand.Read(id)
	domain := m.from.Address[strings.LastIndexByte(m.from.Address, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", to.String())
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", e.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id), domain)
	kind, text := "plain", e.Text
	if e.HTML != "" {
		kind, text = "html", e.HTML
	}
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/%s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", kind)
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// LogMailer writes each email to the log instead of sending it: for
// development only (the message may hold a reset link or a code).
type LogMailer struct{ Logger *slog.Logger }

// SendMail implements Mailer.
func (l LogMailer) SendMail(ctx context.Context, e Email) error {
	l.Logger.WarnContext(ctx, "no SMTP server configured: email not sent, its text follows",
		slog.String("to", e.To), slog.String("subject", e.Subject), slog.String("text", e.Text+e.HTML))
	return nil
}
