// Package config turns command-line flags, GATEHOUSE_* environment variables
// and an optional YAML file into one validated Config. Every setting is
// declared once in the Settings table, which drives the flags, their
// environment twins, the file's keys and the reference documentation; a flag
// on the command line wins over the environment, which wins over the file.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"
)

// Config is everything gatehouse needs to start.
type Config struct {
	Addr     string // listen address
	Issuer   string // public base URL with trailing slash
	Database string // file path, sqlite:PATH or postgres:// URL
	TLSCert  string
	TLSKey   string
	// DevTLS serves HTTPS with a local CA and a localhost certificate made
	// next to the database.
	DevTLS bool
	// MetricsAddr, when set, serves /metrics on its own listener instead of
	// the main one.
	MetricsAddr string

	// Secret is the master secret sealing secrets at rest (GATEHOUSE_SECRET).
	// Empty: a file next to the SQLite database holds a generated one.
	Secret string

	BootstrapClientID     string
	BootstrapClientSecret string

	PasswordHash string // argon2id or bcrypt: the native hash for new passwords
	// DBMaxConns bounds each node's PostgreSQL connection pool.
	DBMaxConns int
	// HashConcurrency caps password hashes computed at once.
	HashConcurrency int
	// HashNice is the scheduling priority (nice, 1–19) of the threads that
	// compute password hashes; 0 computes them on the requests' own
	// goroutines at the process's priority.
	HashNice int
	// ImportMaxBytes bounds the users file of one bulk import.
	ImportMaxBytes int64

	LogFormat string // json or text
	LogLevel  string // debug, info, warn, error

	// SMTP delivers email (reset links, verification links, codes); with
	// no host, messages go to the log at warn level.
	SMTPHost     string
	SMTPPort     int
	SMTPUser     string
	SMTPPassword string
	SMTPTLS      string // starttls, tls or none
	SMTPFrom     string
	// AdminEmail receives the administrators' notices: admin_notification
	// shields and finished imports that asked for send_completion_email.
	AdminEmail string

	// A Twilio-compatible SMS provider sends text messages (codes); with no
	// account SID, messages go to the log at warn level.
	SMSURL        string
	SMSAccountSID string
	SMSAuthToken  string
	SMSFrom       string

	// LogRetentionDays is how many days the tenant's log keeps an event
	// (0: forever).
	LogRetentionDays int
	// LogStream, when set, also writes every stored tenant log event as a
	// JSON line to standard output ("stdout") or to this file (appended).
	LogStream string
	// TrustedProxies are the networks whose X-Forwarded-For gatehouse
	// believes (the proxies and load balancers in front of it).
	TrustedProxies []netip.Prefix
	// BreachedFilter is a filter built by "gatehouse breached build";
	// empty: the shipped one.
	BreachedFilter string
	// BreachedRangeURL, when set, is a k-anonymity range API (the Pwned
	// Passwords API's shape) asked beside the filter.
	BreachedRangeURL string

	// ScriptTimeout bounds one run of the tenant's JavaScript (one login's
	// rules and Actions, one custom database script call).
	ScriptTimeout time.Duration
	// ScriptMemoryLimit is the process heap (bytes) over which the memory
	// watchdog stops the oldest running script.
	ScriptMemoryLimit int64
	// ScriptOutputLimit bounds what one run produces (claims, metadata, a
	// profile) as JSON, in bytes.
	ScriptOutputLimit int
	// ScriptHTTPTimeout bounds one outbound HTTP request of a script.
	ScriptHTTPTimeout time.Duration
	// ScriptAllowedHosts are hosts every rule and Action may reach over
	// HTTP, beside the tenant setting's.
	ScriptAllowedHosts []string

	// IssuerExplicit says the issuer was chosen (by --issuer or --addr from
	// any source) rather than left at its default.
	IssuerExplicit bool
	// File is the configuration file read, if any.
	File string
	// Sources says where each setting came from, by its environment
	// variable's name: "flag", "env", "file" or "default".
	Sources map[string]string
}

// Setting is one configuration setting: its flag, environment variable and
// file key (the flag's name), and how it lands in a Config.
type Setting struct {
	Name    string // flag name and file key; empty for environment-only settings
	Env     string // environment variable
	Default string // as shown in help and docs
	Kind    string // string, int, bool or duration
	Usage   string
	// Secret settings come from the environment only, never from a flag
	// (visible in ps) or the file (easily committed).
	Secret bool
	set    func(c *Config, v string) error
}

// Settings lists every setting in the order the documentation shows them.
var Settings = []Setting{
	{Name: "addr", Env: "GATEHOUSE_ADDR", Default: "127.0.0.1:8080", Kind: "string",
		Usage: "listen address (host:port)",
		set:   func(c *Config, v string) error { c.Addr = v; return nil }},
	{Name: "issuer", Env: "GATEHOUSE_ISSUER", Kind: "string",
		Usage: "public base URL with a trailing slash, every token's iss (default: from --addr)",
		set:   func(c *Config, v string) error { c.Issuer = v; return nil }},
	{Name: "database", Env: "GATEHOUSE_DATABASE", Default: "./gatehouse.db", Kind: "string",
		Usage: "SQLite file (PATH or sqlite:PATH) or postgres:// URL",
		set:   func(c *Config, v string) error { c.Database = v; return nil }},
	{Name: "db-max-conns", Env: "GATEHOUSE_DB_MAX_CONNS", Default: "0", Kind: "int",
		Usage: "PostgreSQL connections this node may open (0: two per CPU, at least 4; each node also holds one for LISTEN); keep nodes x (this + 1) under the server's max_connections",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.DBMaxConns) }},
	{Name: "tls-cert", Env: "GATEHOUSE_TLS_CERT", Kind: "string",
		Usage: "PEM certificate file: serve HTTPS",
		set:   func(c *Config, v string) error { c.TLSCert = v; return nil }},
	{Name: "tls-key", Env: "GATEHOUSE_TLS_KEY", Kind: "string",
		Usage: "PEM private key file of --tls-cert",
		set:   func(c *Config, v string) error { c.TLSKey = v; return nil }},
	{Name: "dev-tls", Env: "GATEHOUSE_DEV_TLS", Default: "false", Kind: "bool",
		Usage: "serve HTTPS with a local development CA and localhost certificate kept next to the database",
		set:   func(c *Config, v string) (err error) { c.DevTLS, err = parseBool(v); return err }},
	{Name: "metrics-addr", Env: "GATEHOUSE_METRICS_ADDR", Kind: "string",
		Usage: "serve /metrics on this address instead of the main listener",
		set:   func(c *Config, v string) error { c.MetricsAddr = v; return nil }},
	{Name: "password-hash", Env: "GATEHOUSE_PASSWORD_HASH", Default: "argon2id", Kind: "string",
		Usage: "native hash for new passwords: argon2id or bcrypt",
		set:   func(c *Config, v string) error { c.PasswordHash = v; return nil }},
	{Name: "hash-concurrency", Env: "GATEHOUSE_HASH_CONCURRENCY", Default: "0", Kind: "int",
		Usage: "password hashes computed at once (0: the number of CPUs)",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.HashConcurrency) }},
	{Name: "hash-nice", Env: "GATEHOUSE_HASH_NICE", Default: "10", Kind: "int",
		Usage: "scheduling priority (nice, 1-19) of the password-hashing threads, so other requests go first when both want a core (0: no threads of their own)",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.HashNice) }},
	{Name: "import-max-bytes", Env: "GATEHOUSE_IMPORT_MAX_BYTES", Default: "67108864", Kind: "int",
		Usage: "largest users file a bulk import accepts, in bytes (Auth0's is 500 KB)",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.ImportMaxBytes) }},
	{Name: "log-format", Env: "GATEHOUSE_LOG_FORMAT", Default: "json", Kind: "string",
		Usage: "json or text",
		set:   func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{Name: "log-level", Env: "GATEHOUSE_LOG_LEVEL", Default: "info", Kind: "string",
		Usage: "debug, info, warn or error (debug adds a detail line per request)",
		set:   func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{Name: "log-retention-days", Env: "GATEHOUSE_LOG_RETENTION_DAYS", Default: "30", Kind: "int",
		Usage: "days the tenant's log (/api/v2/logs) keeps an event; 0 keeps them forever",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.LogRetentionDays) }},
	{Name: "log-stream", Env: "GATEHOUSE_LOG_STREAM", Kind: "string",
		Usage: "also write each tenant log event as a JSON line (Auth0's shape) to stdout or to this file (created 0600, appended)",
		set:   func(c *Config, v string) error { c.LogStream = v; return nil }},
	{Name: "smtp-host", Env: "GATEHOUSE_SMTP_HOST", Kind: "string",
		Usage: "SMTP server for email (reset and verification links, codes); unset: messages go to the log at warn level",
		set:   func(c *Config, v string) error { c.SMTPHost = v; return nil }},
	{Name: "smtp-port", Env: "GATEHOUSE_SMTP_PORT", Default: "0", Kind: "int",
		Usage: "SMTP port (0: 587, or 465 with --smtp-tls tls)",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.SMTPPort) }},
	{Name: "smtp-user", Env: "GATEHOUSE_SMTP_USER", Kind: "string",
		Usage: "SMTP AUTH user name (unset: no AUTH); the password is GATEHOUSE_SMTP_PASSWORD",
		set:   func(c *Config, v string) error { c.SMTPUser = v; return nil }},
	{Name: "smtp-tls", Env: "GATEHOUSE_SMTP_TLS", Default: "starttls", Kind: "string",
		Usage: "starttls (required upgrade), tls (from the first byte) or none (a relay on this host)",
		set:   func(c *Config, v string) error { c.SMTPTLS = v; return nil }},
	{Name: "smtp-from", Env: "GATEHOUSE_SMTP_FROM", Kind: "string",
		Usage: "sender address of every email, e.g. \"Example <no-reply@example.com>\"",
		set:   func(c *Config, v string) error { c.SMTPFrom = v; return nil }},
	{Name: "admin-email", Env: "GATEHOUSE_ADMIN_EMAIL", Kind: "string",
		Usage: "address of the tenant's administrators: attack protection's admin notices and users-import summaries (without it they go to the log)",
		set:   func(c *Config, v string) error { c.AdminEmail = v; return nil }},
	{Name: "sms-url", Env: "GATEHOUSE_SMS_URL", Default: "https://api.twilio.com", Kind: "string",
		Usage: "base URL of the Twilio-compatible Messages API (the server's account, and a tenant's own for MFA)",
		set:   func(c *Config, v string) error { c.SMSURL = v; return nil }},
	{Name: "sms-account-sid", Env: "GATEHOUSE_SMS_ACCOUNT_SID", Kind: "string",
		Usage: "Twilio account SID for text messages (codes); unset: messages go to the log at warn level; the token is GATEHOUSE_SMS_AUTH_TOKEN",
		set:   func(c *Config, v string) error { c.SMSAccountSID = v; return nil }},
	{Name: "sms-from", Env: "GATEHOUSE_SMS_FROM", Kind: "string",
		Usage: "sender of text messages: a phone number in E.164 form or a messaging service SID (MG...)",
		set:   func(c *Config, v string) error { c.SMSFrom = v; return nil }},
	{Name: "trusted-proxies", Env: "GATEHOUSE_TRUSTED_PROXIES", Kind: "string",
		Usage: "comma-separated addresses or CIDR networks of the proxies in front of gatehouse, whose X-Forwarded-For gives the client IP",
		set: func(c *Config, v string) error {
			nets, err := ParseNetworks(v)
			c.TrustedProxies = nets
			return err
		}},
	{Name: "breached-filter", Env: "GATEHOUSE_BREACHED_FILTER", Kind: "string",
		Usage: "breached-password filter made by 'gatehouse breached build' (default: the shipped list of common leaked passwords)",
		set:   func(c *Config, v string) error { c.BreachedFilter = v; return nil }},
	{Name: "breached-range-url", Env: "GATEHOUSE_BREACHED_RANGE_URL", Kind: "string",
		Usage: "base URL of a k-anonymity range API (GET {url}/range/{5 hex}) asked beside the filter, e.g. https://api.pwnedpasswords.com",
		set: func(c *Config, v string) error {
			u, err := url.Parse(v)
			if v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				return fmt.Errorf("%q is not an http(s) URL", v)
			}
			c.BreachedRangeURL = v
			return nil
		}},
	{Name: "script-timeout", Env: "GATEHOUSE_SCRIPT_TIMEOUT", Default: "20s", Kind: "duration",
		Usage: "wall-clock limit of one run of the tenant's JavaScript: a login's rules and Actions together, or one custom database script call (Auth0's 20s)",
		set:   func(c *Config, v string) (err error) { c.ScriptTimeout, err = parseDuration(v); return err }},
	{Name: "script-memory-limit", Env: "GATEHOUSE_SCRIPT_MEMORY_LIMIT", Default: "1073741824", Kind: "int",
		Usage: "process heap in bytes over which the memory watchdog stops the oldest running script",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.ScriptMemoryLimit) }},
	{Name: "script-output-limit", Env: "GATEHOUSE_SCRIPT_OUTPUT_LIMIT", Default: "65536", Kind: "int",
		Usage: "bytes of JSON one script run may produce (claims, metadata, a profile)",
		set:   func(c *Config, v string) error { return scanNumber(v, &c.ScriptOutputLimit) }},
	{Name: "script-http-timeout", Env: "GATEHOUSE_SCRIPT_HTTP_TIMEOUT", Default: "10s", Kind: "duration",
		Usage: "limit of one outbound HTTP request made by a script (request, fetch, axios)",
		set:   func(c *Config, v string) (err error) { c.ScriptHTTPTimeout, err = parseDuration(v); return err }},
	{Name: "script-allowed-hosts", Env: "GATEHOUSE_SCRIPT_ALLOWED_HOSTS", Kind: "string",
		Usage: "comma-separated hosts (host, host:port or *.domain) every rule and Action may reach over HTTP, beside the tenant setting gatehouse_script_allowed_hosts",
		set: func(c *Config, v string) error {
			hosts, err := ParseHosts(v)
			c.ScriptAllowedHosts = hosts
			return err
		}},
	{Env: "GATEHOUSE_SECRET", Secret: true,
		Usage: "master secret that encrypts secrets at rest; required with PostgreSQL (the same on every node), generated into <database>.secret with SQLite when unset",
		set:   func(c *Config, v string) error { c.Secret = v; return nil }},
	{Env: "GATEHOUSE_BOOTSTRAP_CLIENT_ID", Secret: true,
		Usage: "at every start, make sure this machine-to-machine application exists and may call the Management API with every scope",
		set:   func(c *Config, v string) error { c.BootstrapClientID = v; return nil }},
	{Env: "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", Secret: true,
		Usage: "the secret of GATEHOUSE_BOOTSTRAP_CLIENT_ID (at least 16 characters)",
		set:   func(c *Config, v string) error { c.BootstrapClientSecret = v; return nil }},
	{Env: "GATEHOUSE_SMTP_PASSWORD", Secret: true,
		Usage: "the SMTP AUTH password of --smtp-user",
		set:   func(c *Config, v string) error { c.SMTPPassword = v; return nil }},
	{Env: "GATEHOUSE_SMS_AUTH_TOKEN", Secret: true,
		Usage: "the auth token of --sms-account-sid",
		set:   func(c *Config, v string) error { c.SMSAuthToken = v; return nil }},
}

// ParseNetworks reads a comma-separated list of IP addresses and CIDR
// networks ("10.0.0.0/8, 192.0.2.7, fd00::/8").
func ParseNetworks(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR network", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ParseHosts reads a comma-separated list of hosts a script may reach: a
// host name or address, host:port, or *.domain.
func ParseHosts(v string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(v, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if strings.ContainsAny(h, "/@?#") || strings.ContainsFunc(h, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return nil, fmt.Errorf("%q is not a host, host:port or *.domain", h)
		}
		out = append(out, h)
	}
	return out, nil
}

// scanNumber reads a whole number setting into dst.
func scanNumber[T int | int64](v string, dst *T) error {
	if _, err := fmt.Sscan(v, dst); err != nil {
		return fmt.Errorf("%q is not a number", v)
	}
	return nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (such as 20s or 500ms)", v)
	}
	return d, nil
}

// ConfigFileEnv names the environment twin of --config.
const ConfigFileEnv = "GATEHOUSE_CONFIG"

// Flags holds a command's registered settings until Load reads them.
type Flags struct {
	fs     *pflag.FlagSet
	values map[string]*flagValue
	file   *string
}

// Register adds a flag for every setting (and --config) to fs.
func Register(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs, values: map[string]*flagValue{}}
	for _, s := range Settings {
		if s.Name == "" {
			continue
		}
		v := &flagValue{kind: s.Kind, value: s.Default}
		f.values[s.Name] = v
		fl := fs.VarPF(v, s.Name, "", s.Usage+" ("+s.Env+")")
		if s.Kind == "bool" {
			fl.NoOptDefVal = "true"
		}
	}
	f.file = fs.String("config", "", "YAML configuration file ("+ConfigFileEnv+"); flags and environment override it")
	return f
}

// Load builds the Config: defaults, then the file, then the environment,
// then the flags given on the command line, then validation.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	c, err := f.collect(getenv)
	if err != nil {
		return Config{}, err
	}
	return c, c.finish()
}

func (f *Flags) collect(getenv func(string) string) (Config, error) {
	c := Config{Sources: map[string]string{}}
	chosen := map[string]bool{} // settings given by file, env or flag
	for _, s := range Settings {
		c.Sources[s.Env] = "default"
		if s.Default != "" {
			if err := s.set(&c, s.Default); err != nil {
				return Config{}, err
			}
		}
	}
	c.File = getenv(ConfigFileEnv)
	if f.fs.Changed("config") {
		c.File = *f.file
	}
	if c.File != "" {
		values, err := readFile(c.File)
		if err != nil {
			return Config{}, err
		}
		for _, s := range Settings {
			if v, ok := values[s.Name]; ok && s.Name != "" {
				if err := s.set(&c, v); err != nil {
					return Config{}, fmt.Errorf("%s: %s: %w", c.File, s.Name, err)
				}
				chosen[s.Name], c.Sources[s.Env] = true, "file"
			}
		}
	}
	for _, s := range Settings {
		if v := getenv(s.Env); v != "" {
			if err := s.set(&c, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", s.Env, err)
			}
			chosen[s.Name], c.Sources[s.Env] = true, "env"
		}
	}
	for _, s := range Settings {
		if s.Name != "" && f.fs.Changed(s.Name) {
			if err := s.set(&c, f.values[s.Name].value); err != nil {
				return Config{}, fmt.Errorf("--%s: %w", s.Name, err)
			}
			chosen[s.Name], c.Sources[s.Env] = true, "flag"
		}
	}
	c.IssuerExplicit = chosen["issuer"] || chosen["addr"]
	return c, nil
}

// Parse reads args (without the program and subcommand names) with defaults
// from getenv: the serve command's settings, for tests and tools that
// start a server in process.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	f := Register(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f.Load(getenv)
}

// finish fills derived defaults and validates. Every error names the
// setting it is about.
func (c *Config) finish() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.DevTLS && c.TLSCert != "" {
		return errors.New("--dev-tls and --tls-cert exclude each other")
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer(c.Addr, c.TLSCert != "" || c.DevTLS)
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--issuer %q must be an http(s) URL without query or fragment", c.Issuer)
	}
	if !strings.HasSuffix(c.Issuer, "/") {
		c.Issuer += "/"
	}
	if err := c.checkDatabase(); err != nil {
		return err
	}
	if c.PasswordHash != "argon2id" && c.PasswordHash != "bcrypt" {
		return fmt.Errorf("--password-hash %q: want argon2id or bcrypt", c.PasswordHash)
	}
	if c.HashConcurrency < 0 {
		return errors.New("--hash-concurrency must not be negative")
	}
	if c.DBMaxConns < 0 {
		return fmt.Errorf("--db-max-conns %d: must not be negative", c.DBMaxConns)
	}
	if c.HashNice < 0 || c.HashNice > 19 {
		return fmt.Errorf("--hash-nice %d: want 0 to 19", c.HashNice)
	}
	if c.HashConcurrency == 0 {
		c.HashConcurrency = runtime.NumCPU()
	}
	if c.ImportMaxBytes < 0 {
		return errors.New("--import-max-bytes must not be negative")
	}
	if c.ScriptTimeout <= 0 || c.ScriptHTTPTimeout <= 0 {
		return errors.New("--script-timeout and --script-http-timeout must be positive")
	}
	if c.ScriptMemoryLimit <= 0 || c.ScriptOutputLimit <= 0 {
		return errors.New("--script-memory-limit and --script-output-limit must be positive")
	}
	if (c.BootstrapClientID == "") != (c.BootstrapClientSecret == "") {
		return errors.New("GATEHOUSE_BOOTSTRAP_CLIENT_ID and GATEHOUSE_BOOTSTRAP_CLIENT_SECRET go together")
	}
	if c.BootstrapClientSecret != "" && len(c.BootstrapClientSecret) < 16 {
		return errors.New("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET must be at least 16 characters")
	}
	if c.LogRetentionDays < 0 || c.LogRetentionDays > 36500 {
		return fmt.Errorf("--log-retention-days %d: want 0 (keep forever) to 36500", c.LogRetentionDays)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("--log-format %q: want json or text", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return c.checkDelivery()
}

// checkDelivery validates the email and SMS settings.
func (c *Config) checkDelivery() error {
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		return fmt.Errorf("--smtp-tls %q: want starttls, tls or none", c.SMTPTLS)
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		return fmt.Errorf("--smtp-port %d is not a port", c.SMTPPort)
	}
	if c.SMTPHost != "" {
		if a, err := mail.ParseAddress(c.SMTPFrom); err != nil || !strings.Contains(a.Address, "@") {
			return errors.New("--smtp-from must be an email address when --smtp-host is set")
		}
	}
	if c.AdminEmail != "" {
		if a, err := mail.ParseAddress(c.AdminEmail); err != nil || !strings.Contains(a.Address, "@") {
			return fmt.Errorf("--admin-email %q: not an email address", c.AdminEmail)
		}
	}
	if (c.SMTPUser == "") != (c.SMTPPassword == "") {
		return errors.New("--smtp-user and GATEHOUSE_SMTP_PASSWORD go together")
	}
	if c.SMSAccountSID != "" {
		if c.SMSAuthToken == "" || c.SMSFrom == "" {
			return errors.New("--sms-account-sid needs GATEHOUSE_SMS_AUTH_TOKEN and --sms-from")
		}
		if u, err := url.Parse(c.SMSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--sms-url %q must be an http(s) URL", c.SMSURL)
		}
	}
	return nil
}

// checkDatabase refuses a database setting gatehouse cannot open, naming the
// cause: an unsupported scheme, or a SQLite file whose directory is missing.
// A PostgreSQL URL is never echoed: it may hold a password.
func (c *Config) checkDatabase() error {
	if c.Database == "" {
		return errors.New("--database must not be empty")
	}
	if c.IsPostgres() {
		if _, err := url.Parse(c.Database); err != nil {
			return errors.New("--database: the postgres:// URL does not parse")
		}
		return nil
	}
	path := c.SQLitePath()
	if !strings.HasPrefix(c.Database, "sqlite:") {
		if scheme, ok := urlScheme(c.Database); ok {
			return fmt.Errorf("--database: unsupported scheme %q: want a SQLite file path, sqlite:PATH, or a postgres:// URL", scheme)
		}
	}
	if path == "" {
		return errors.New("--database: the SQLite path is empty")
	}
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("--database %s: its directory %s cannot be used: %w", path, dir, unwrapPathError(err))
	case !info.IsDir():
		return fmt.Errorf("--database %s: %s is not a directory", path, dir)
	}
	return nil
}

// unwrapPathError drops the *fs.PathError wrapper, whose path the caller
// already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// urlScheme reports a URL-style scheme ("mysql" in mysql://...) at the
// start of s; a Windows drive letter (C:\...) is not one.
func urlScheme(s string) (string, bool) {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || len(scheme) < 2 {
		return "", false
	}
	for i, r := range scheme {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		other := r >= '0' && r <= '9' || r == '+' || r == '.' || r == '-'
		if !letter && (i == 0 || !other) {
			return "", false
		}
	}
	return scheme, true
}

// DefaultIssuer derives the issuer from the listen address: the host as
// given (localhost for an unspecified one) and the scheme TLS implies.
func DefaultIssuer(addr string, tls bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host + "/"
}

// IsPostgres reports whether the database setting selects PostgreSQL.
func (c Config) IsPostgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// SQLitePath returns the SQLite file path of the database setting.
func (c Config) SQLitePath() string {
	return strings.TrimPrefix(c.Database, "sqlite:")
}

// flagValue is a pflag.Value holding the raw text of a flag; Load converts
// it with the setting's own parser so errors name the flag.
type flagValue struct {
	kind, value string
}

func (v *flagValue) String() string     { return v.value }
func (v *flagValue) Set(s string) error { v.value = s; return nil }
func (v *flagValue) Type() string       { return v.kind }

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// Display is the effective value of s in c as config check shows it:
// secrets only as set or unset, a PostgreSQL password masked.
func (c Config) Display(s Setting) string {
	if s.Secret {
		var v string
		switch s.Env {
		case "GATEHOUSE_SECRET":
			v = c.Secret
		case "GATEHOUSE_BOOTSTRAP_CLIENT_ID":
			return c.BootstrapClientID
		case "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET":
			v = c.BootstrapClientSecret
		case "GATEHOUSE_SMTP_PASSWORD":
			v = c.SMTPPassword
		case "GATEHOUSE_SMS_AUTH_TOKEN":
			v = c.SMSAuthToken
		}
		if v == "" {
			return "(unset)"
		}
		return "(set)"
	}
	switch s.Name {
	case "addr":
		return c.Addr
	case "issuer":
		return c.Issuer
	case "database":
		if u, err := url.Parse(c.Database); err == nil && c.IsPostgres() {
			return u.Redacted()
		}
		return c.Database
	case "db-max-conns":
		return fmt.Sprint(c.DBMaxConns)
	case "tls-cert":
		return c.TLSCert
	case "tls-key":
		return c.TLSKey
	case "dev-tls":
		return fmt.Sprint(c.DevTLS)
	case "metrics-addr":
		return c.MetricsAddr
	case "password-hash":
		return c.PasswordHash
	case "hash-concurrency":
		return fmt.Sprint(c.HashConcurrency)
	case "hash-nice":
		return fmt.Sprint(c.HashNice)
	case "import-max-bytes":
		return fmt.Sprint(c.ImportMaxBytes)
	case "log-format":
		return c.LogFormat
	case "log-level":
		return c.LogLevel
	case "smtp-host":
		return c.SMTPHost
	case "smtp-port":
		return fmt.Sprint(c.SMTPPort)
	case "smtp-user":
		return c.SMTPUser
	case "smtp-tls":
		return c.SMTPTLS
	case "smtp-from":
		return c.SMTPFrom
	case "admin-email":
		return c.AdminEmail
	case "sms-url":
		return c.SMSURL
	case "sms-account-sid":
		return c.SMSAccountSID
	case "sms-from":
		return c.SMSFrom
	case "trusted-proxies":
		nets := make([]string, len(c.TrustedProxies))
		for i, n := range c.TrustedProxies {
			nets[i] = n.String()
		}
		return strings.Join(nets, ",")
	case "breached-filter":
		return c.BreachedFilter
	case "breached-range-url":
		return c.BreachedRangeURL
	case "script-timeout":
		return c.ScriptTimeout.String()
	case "script-memory-limit":
		return fmt.Sprint(c.ScriptMemoryLimit)
	case "script-output-limit":
		return fmt.Sprint(c.ScriptOutputLimit)
	case "script-http-timeout":
		return c.ScriptHTTPTimeout.String()
	case "script-allowed-hosts":
		return strings.Join(c.ScriptAllowedHosts, ",")
	}
	return ""
}
