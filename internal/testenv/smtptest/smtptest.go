// Package smtptest runs a real SMTP server on loopback for tests
// (github.com/emersion/go-smtp): it offers STARTTLS with a test CA's
// certificate and AUTH PLAIN, and keeps every message it accepts so a test
// can read the link or code gatehouse mailed.
package smtptest

import (
	"errors"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/internal/testenv/testca"
)

// Credentials the server accepts for AUTH PLAIN.
const (
	Username = "gatehouse"
	Password = "smtp-secret"
)

// Message is one accepted message.
type Message struct {
	From    string
	To      []string
	Subject string
	Header  mail.Header
	Body    string // the raw body (after the header)
	Authed  bool   // the client authenticated
	TLS     bool   // the session was upgraded with STARTTLS
}

// Server is a running SMTP listener.
type Server struct {
	Addr string // host:port
	Host string
	Port int
	CA   *testca.CA

	mu       sync.Mutex
	messages []Message
	arrived  chan struct{}
}

// Start listens on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		CA: testca.New(t), arrived: make(chan struct{}, 1024)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, tls := c.TLSConnectionState()
		return &session{s: s, tls: tls}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = s.CA.ServerTLS(t)
	srv.MaxMessageBytes = 1 << 20
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Messages returns what arrived so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait returns the first message to rcpt that arrives within timeout,
// including those already there.
func (s *Server) Wait(t testing.TB, rcpt string, timeout time.Duration) Message {
	t.Helper()
	return s.WaitN(t, rcpt, 1, timeout)
}

// WaitN returns the n-th message (from 1) to rcpt that arrives within
// timeout, including those already there.
func (s *Server) WaitN(t testing.TB, rcpt string, n int, timeout time.Duration) Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		seen := 0
		for _, m := range s.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, rcpt) {
					if seen++; seen == n {
						return m
					}
				}
			}
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("no message %d to %s within %s (have %d)", n, rcpt, timeout, len(s.Messages()))
		}
	}
}

type session struct {
	s      *Server
	tls    bool
	authed bool
	msg    Message
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != Username || password != Password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.msg = Message{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return err
	}
	ss.msg.Header, ss.msg.Body = m.Header, string(body)
	dec := new(mime.WordDecoder)
	ss.msg.Subject, err = dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		ss.msg.Subject = m.Header.Get("Subject")
	}
	ss.msg.Authed, ss.msg.TLS = ss.authed, ss.tls
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, ss.msg)
	ss.s.mu.Unlock()
	select {
	case ss.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.msg = Message{} }
func (ss *session) Logout() error { return nil }
