package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr bool
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.Issuer == "http://127.0.0.1:8080/" && c.Database == "./gatehouse.db" && c.HashConcurrency > 0
		}, false},
		{"env twin", nil, map[string]string{"GATEHOUSE_ADDR": "0.0.0.0:9000"}, func(c Config) bool {
			return c.Addr == "0.0.0.0:9000" && c.Issuer == "http://localhost:9000/"
		}, false},
		{"flag beats env", []string{"--addr", "127.0.0.1:1"}, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:2"}, func(c Config) bool {
			return c.Addr == "127.0.0.1:1"
		}, false},
		{"issuer gets its trailing slash", []string{"--issuer", "https://auth.example.com"}, nil, func(c Config) bool {
			return c.Issuer == "https://auth.example.com/"
		}, false},
		{"tls implies https", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil, func(c Config) bool {
			return c.Issuer == "https://127.0.0.1:8080/"
		}, false},
		{"postgres", []string{"--database", "postgres://u@h/db"}, nil, func(c Config) bool { return c.IsPostgres() }, false},
		{"sqlite prefix", []string{"--database", "sqlite:/tmp/x.db"}, nil, func(c Config) bool { return !c.IsPostgres() && c.SQLitePath() == "/tmp/x.db" }, false},
		{"bootstrap pair", nil, map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "id", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": "0123456789abcdef"}, func(c Config) bool {
			return c.BootstrapClientID == "id"
		}, false},
		{"log retention defaults to 30 days, no stream", nil, nil, func(c Config) bool {
			return c.LogRetentionDays == 30 && c.LogStream == ""
		}, false},
		{"log retention and stream from env", nil, map[string]string{"GATEHOUSE_LOG_RETENTION_DAYS": "0", "GATEHOUSE_LOG_STREAM": "stdout"}, func(c Config) bool {
			return c.LogRetentionDays == 0 && c.LogStream == "stdout"
		}, false},
		{"negative log retention", []string{"--log-retention-days", "-1"}, nil, nil, true},
		{"bootstrap id alone", nil, map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "id"}, nil, true},
		{"short bootstrap secret", nil, map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "id", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": "short"}, nil, true},
		{"tls cert alone", []string{"--tls-cert", "c.pem"}, nil, nil, true},
		{"issuer not a URL", []string{"--issuer", "auth.example.com"}, nil, nil, true},
		{"issuer with query", []string{"--issuer", "https://a/?x=1"}, nil, nil, true},
		{"unknown hash", []string{"--password-hash", "md5"}, nil, nil, true},
		{"unknown flag", []string{"--nope"}, nil, nil, true},
		{"stray argument", []string{"extra"}, nil, nil, true},
		{"bad concurrency env", nil, map[string]string{"GATEHOUSE_HASH_CONCURRENCY": "many"}, nil, true},
		{"mysql is not a database gatehouse speaks", []string{"--database", "mysql://u:p@h/db"}, nil, nil, true},
		{"missing database directory", []string{"--database", "/nonexistent/dir/x.db"}, nil, nil, true},
		{"windows-style path is a file", []string{"--database", "sqlite:" + os.TempDir() + "/c:x.db"}, nil, func(c Config) bool { return !c.IsPostgres() }, false},
		{"unknown log level", []string{"--log-level", "loud"}, nil, nil, true},
		{"dev-tls implies https", []string{"--dev-tls"}, nil, func(c Config) bool { return c.DevTLS && c.Issuer == "https://127.0.0.1:8080/" }, false},
		{"dev-tls from env", nil, map[string]string{"GATEHOUSE_DEV_TLS": "true"}, func(c Config) bool { return c.DevTLS }, false},
		{"issuer left to default", nil, nil, func(c Config) bool { return !c.IssuerExplicit }, false},
		{"addr makes the issuer explicit", nil, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9"}, func(c Config) bool { return c.IssuerExplicit }, false},
		{"smtp", []string{"--smtp-host", "mail.example.com", "--smtp-from", "Acme <no-reply@example.com>", "--smtp-user", "u", "--smtp-tls", "tls"},
			map[string]string{"GATEHOUSE_SMTP_PASSWORD": "p"}, func(c Config) bool {
				return c.SMTPHost == "mail.example.com" && c.SMTPPassword == "p" && c.SMTPTLS == "tls" && c.SMTPUser == "u"
			}, false},
		{"smtp without a sender", []string{"--smtp-host", "mail.example.com"}, nil, nil, true},
		{"smtp user without password", []string{"--smtp-user", "u"}, nil, nil, true},
		{"smtp tls mode", []string{"--smtp-tls", "ssl"}, nil, nil, true},
		{"sms", []string{"--sms-account-sid", "AC1", "--sms-from", "+15551234567"}, map[string]string{"GATEHOUSE_SMS_AUTH_TOKEN": "t"}, func(c Config) bool {
			return c.SMSAccountSID == "AC1" && c.SMSAuthToken == "t" && c.SMSURL == "https://api.twilio.com"
		}, false},
		{"sms without token", []string{"--sms-account-sid", "AC1", "--sms-from", "+15551234567"}, nil, nil, true},
		{"sources", []string{"--addr", "127.0.0.1:1"}, map[string]string{"GATEHOUSE_LOG_LEVEL": "debug"}, func(c Config) bool {
			return c.Sources["GATEHOUSE_ADDR"] == "flag" && c.Sources["GATEHOUSE_LOG_LEVEL"] == "env" && c.Sources["GATEHOUSE_DATABASE"] == "default"
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(c.args, func(k string) string { return c.env[k] }, io.Discard)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if err == nil && !c.check(cfg) {
				t.Fatalf("config = %+v", cfg)
			}
		})
	}
}

// TestFilePrecedence: a flag beats the environment, which beats the file,
// which beats the default.
func TestFilePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:7001\nlog-level: warn\nlog-format: text\nhash-concurrency: 3\ndev-tls: true\n"), 0o600)
	env := map[string]string{"GATEHOUSE_CONFIG": file, "GATEHOUSE_LOG_LEVEL": "error", "GATEHOUSE_ADDR": "127.0.0.1:7002"}
	c, err := Parse([]string{"--addr", "127.0.0.1:7003"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7003" || c.LogLevel != "error" || c.LogFormat != "text" || c.HashConcurrency != 3 || !c.DevTLS || c.PasswordHash != "argon2id" {
		t.Errorf("config = %+v", c)
	}
	if c.Sources["GATEHOUSE_LOG_FORMAT"] != "file" || c.File != file {
		t.Errorf("sources = %v, file %q", c.Sources, c.File)
	}
	c, err = Parse([]string{"--config", file}, func(string) string { return "" }, io.Discard)
	if err != nil || c.Addr != "127.0.0.1:7001" || c.LogLevel != "warn" || !c.IssuerExplicit {
		t.Errorf("--config alone: %+v, %v", c, err)
	}
}

// TestFileMistakesAreNamed: a bad file is refused with the key (and line)
// at fault; secrets are refused in a file.
func TestFileMistakesAreNamed(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, content, want string }{
		{"unknown key", "adr: x\n", `unknown setting "adr"`},
		{"secret in file", "secret: hunter2\n", "GATEHOUSE_SECRET"},
		{"bootstrap secret in file", "bootstrap_client_secret: x\n", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET"},
		{"list value", "addr: [a, b]\n", "addr wants a single value"},
		{"not a mapping", "- addr\n", "mapping"},
		{"bad number", "hash-concurrency: lots\n", "hash-concurrency"},
		{"bad bool", "dev-tls: maybe\n", "dev-tls"},
		{"twice", "addr: a\naddr: b\n", "twice"},
		{"bad yaml", "addr: [\n", "--config"},
		{"bad value", "log-format: xml\n", "--log-format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "gatehouse.yaml")
			os.WriteFile(file, []byte(c.content), 0o600)
			_, err := Parse([]string{"--config", file}, func(string) string { return "" }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want it to mention %q", err, c.want)
			}
		})
	}
	if _, err := Parse([]string{"--config", "/nonexistent/gatehouse.yaml"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent/gatehouse.yaml") {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Parse([]string{"--config", empty}, func(string) string { return "" }, io.Discard); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

// TestEverySettingIsDocumented keeps docs/configuration.md, the reference
// page, in step with the settings table.
func TestEverySettingIsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if s.Name != "" && !strings.Contains(string(doc), "`--"+s.Name+"`") {
			t.Errorf("docs/configuration.md does not document --%s", s.Name)
		}
		if !strings.Contains(string(doc), "`"+s.Env+"`") {
			t.Errorf("docs/configuration.md does not document %s", s.Env)
		}
	}
}

// FuzzParseHosts: whatever the input, a list that is accepted holds only
// trimmed, non-empty hosts without a path, user, query or fragment.
func FuzzParseHosts(f *testing.F) {
	for _, seed := range []string{"", "api.example.com", "a.example:8443, *.example.org", "http://x/", " ,, ", "a b", "[::1]:80", "x@y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		hosts, err := ParseHosts(v)
		if err != nil {
			return
		}
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/@?#,") || strings.ContainsFunc(h, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
				t.Fatalf("ParseHosts(%q) accepted %q", v, h)
			}
		}
	})
}
