package database

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// fastArgon keeps the tests quick; the benchmarks use the real parameters.
var fastArgon = passwords.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// fixture is a real SQLite store with one database connection and the
// strategy serving it; log collects what the strategy logs.
type fixture struct {
	st   store.Store
	conn *store.Connection
	s    *Strategy
	log  *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "users.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conn := &store.Connection{ID: "con_db", Name: "db", Strategy: Name, Options: json.RawMessage(`{}`)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	h, err := passwords.NewHasher(passwords.Argon2id, fastArgon, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	log := &bytes.Buffer{}
	s := &Strategy{Users: st, Hasher: h, Limit: passwords.NewLimiter(2, 8, time.Second),
		Logger: slog.New(slog.NewJSONHandler(log, nil))}
	return &fixture{st: st, conn: conn, s: s, log: log}
}

// addUser stores a user of the fixture's connection with the given hash.
func (f *fixture) addUser(t *testing.T, id, email, hash string) *store.User {
	t.Helper()
	now := time.Now()
	u := &store.User{UserID: id, ConnectionID: f.conn.ID, Connection: f.conn.Name, PasswordHash: hash, Email: email,
		Identities: []store.Identity{{Connection: f.conn.Name, UserID: strings.TrimPrefix(id, "auth0|"), Provider: "auth0"}},
		CreatedAt:  now, UpdatedAt: now}
	if err := f.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	native, err := f.s.Hasher.Hash("right password")
	if err != nil {
		t.Fatal(err)
	}
	imported, err := bcrypt.GenerateFromPassword([]byte("right password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	const malformed = "$argon2id$v=19$m=64,t=1,p=1$bm90LWJhc2U2NCE$"
	f.addUser(t, "auth0|native", "native@example.com", native)
	f.addUser(t, "auth0|imported", "imported@example.com", string(imported))
	f.addUser(t, "auth0|broken", "broken@example.com", malformed)

	tests := []struct {
		name, username, password string
		wantOK                   bool
		wantUser                 string // "" : no user in the result
		wantRehash               bool
	}{
		{"right password", "native@example.com", "right password", true, "auth0|native", false},
		{"email is case-insensitive", "NATIVE@example.com", "right password", true, "auth0|native", false},
		{"wrong password", "native@example.com", "wrong", false, "auth0|native", false},
		{"unknown user", "nobody@example.com", "right password", false, "", false},
		{"imported bcrypt verifies and is rehashed", "imported@example.com", "right password", true, "auth0|imported", true},
		{"imported bcrypt, wrong password", "imported@example.com", "wrong", false, "auth0|imported", false},
		{"malformed stored hash is a wrong password", "broken@example.com", "right password", false, "auth0|broken", false},
		{"overlong password", "native@example.com", strings.Repeat("x", passwords.MaxVerifyBytes+1), false, "auth0|native", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ok, err := f.s.Verify(context.Background(), f.conn, tt.username, tt.password)
			if err != nil {
				t.Fatalf("Verify error %v, want none (a refusal is not an error)", err)
			}
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			got := ""
			if res.User != nil {
				got = res.User.UserID
			}
			if got != tt.wantUser {
				t.Errorf("user %q, want %q", got, tt.wantUser)
			}
			if (res.NewPasswordHash != "") != tt.wantRehash {
				t.Errorf("new hash %q, want one: %v", res.NewPasswordHash, tt.wantRehash)
			}
		})
	}
}

func TestMalformedHashLogsTheUserNotTheHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const malformed = "$2a$10$tooshort-but-recognisably-bcrypt"
	f.addUser(t, "auth0|broken", "broken@example.com", malformed)
	if _, ok, err := f.s.Verify(context.Background(), f.conn, "broken@example.com", "hunter2"); ok || err != nil {
		t.Fatalf("Verify = %v, %v; want a plain refusal", ok, err)
	}
	var line map[string]any
	if err := json.Unmarshal(f.log.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q", f.log.String())
	}
	if line["level"] != "ERROR" || line["user_id"] != "auth0|broken" {
		t.Errorf("log line %v: want level ERROR naming user_id auth0|broken", line)
	}
	for _, secret := range []string{malformed, "tooshort", "hunter2"} {
		if strings.Contains(f.log.String(), secret) {
			t.Errorf("log line %q contains %q", f.log.String(), secret)
		}
	}
}

func TestCheckUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	active := f.addUser(t, "auth0|active", "active@example.com", "x")
	blocked := f.addUser(t, "auth0|blocked", "blocked@example.com", "x")
	if _, err := f.st.UpdateUser(ctx, blocked.UserID, func(u *store.User) error { u.Blocked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	deleted := f.addUser(t, "auth0|deleted", "deleted@example.com", "x")
	if err := f.st.DeleteUser(ctx, deleted.UserID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		user *store.User
		want error
	}{
		{"active user may refresh", active, nil},
		{"blocked user is blocked", blocked, directory.ErrUserBlocked},
		{"deleted user is gone", deleted, directory.ErrUserGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.s.CheckUser(ctx, f.conn, tt.user); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("CheckUser = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValidateOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		want      string // stored options when valid
		wantField string // OptionsError.Field when invalid
	}{
		{"empty becomes {}", ``, `{}`, ""},
		{"null becomes {}", `null`, `{}`, ""},
		{"kept verbatim, unknown keys included", `{"passwordPolicy":"good","mfa":{"active":true}}`, `{"passwordPolicy":"good","mfa":{"active":true}}`, ""},
		{"not an object", `[1]`, "", "options"},
		{"unknown policy", `{"passwordPolicy":"strong"}`, "", "options.passwordPolicy"},
		{"policy of the wrong type", `{"passwordPolicy":3}`, "", "options.passwordPolicy"},
		{"min_length above 72", `{"password_complexity_options":{"min_length":73}}`, "", "options.password_complexity_options.min_length"},
		{"history too long", `{"password_history":{"enable":true,"size":25}}`, "", "options.password_history.size"},
		{"username bounds reversed", `{"validation":{"username":{"min":5,"max":2}}}`, "", "options.validation.username"},
	}
	s := &Strategy{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ValidateOptions(json.RawMessage(tt.in))
			var oe *directory.OptionsError
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("ValidateOptions error %v", err)
			case tt.wantField == "" && string(got) != tt.want:
				t.Errorf("stored %s, want %s", got, tt.want)
			case tt.wantField != "" && !errors.As(err, &oe):
				t.Fatalf("ValidateOptions error %v, want an *OptionsError", err)
			case tt.wantField != "" && oe.Field != tt.wantField:
				t.Errorf("field %q, want %q (%s)", oe.Field, tt.wantField, oe.Message)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	s := &Strategy{}
	conn := &store.Connection{ID: "con_x", Options: json.RawMessage(`{"passwordPolicy":"good"}`)}
	if err := s.CheckPassword(conn, "weakpass", nil); !errors.Is(err, ErrTooWeak) {
		t.Errorf("weak password: %v, want ErrTooWeak", err)
	}
	if err := s.CheckPassword(conn, "Str0ng enough", nil); err != nil {
		t.Errorf("good password: %v", err)
	}
}
