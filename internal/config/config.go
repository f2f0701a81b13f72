// Package config turns flags and environment variables into one validated
// Config. Every flag has an environment twin (GATEHOUSE_<NAME>); a flag on
// the command line wins over the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime"
	"strings"
)

// Config is everything gatehouse serve needs to start.
type Config struct {
	Addr     string // listen address
	Issuer   string // public base URL with trailing slash
	Database string // file path, sqlite:PATH or postgres:// URL
	TLSCert  string
	TLSKey   string

	// Secret is the master secret sealing secrets at rest (GATEHOUSE_SECRET).
	// Empty: a file next to the SQLite database holds a generated one.
	Secret string

	BootstrapClientID     string
	BootstrapClientSecret string

	PasswordHash string // argon2id or bcrypt: the native hash for new passwords
	// HashConcurrency caps password hashes computed at once.
	HashConcurrency int

	LogFormat string // json or text
	LogLevel  string // debug, info, warn, error
}

// Parse reads args (without the program and subcommand names) with defaults
// from getenv.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	env := func(name, def string) string {
		if v := getenv("GATEHOUSE_" + name); v != "" {
			return v
		}
		return def
	}
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (GATEHOUSE_ADDR)")
	fs.StringVar(&c.Issuer, "issuer", env("ISSUER", ""), "public base URL with trailing slash; every token's iss (GATEHOUSE_ISSUER; default from --addr)")
	fs.StringVar(&c.Database, "database", env("DATABASE", "./gatehouse.db"), "SQLite file (PATH or sqlite:PATH) or postgres:// URL (GATEHOUSE_DATABASE)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("TLS_CERT", ""), "PEM certificate file: serve HTTPS (GATEHOUSE_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("TLS_KEY", ""), "PEM private key file (GATEHOUSE_TLS_KEY)")
	fs.StringVar(&c.PasswordHash, "password-hash", env("PASSWORD_HASH", "argon2id"), "native hash for new passwords: argon2id or bcrypt (GATEHOUSE_PASSWORD_HASH)")
	fs.IntVar(&c.HashConcurrency, "hash-concurrency", 0, "password hashes computed at once (GATEHOUSE_HASH_CONCURRENCY; default: number of CPUs)")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", "json"), "json or text (GATEHOUSE_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (GATEHOUSE_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.HashConcurrency == 0 {
		if _, err := fmt.Sscan(env("HASH_CONCURRENCY", "0"), &c.HashConcurrency); err != nil {
			return Config{}, errors.New("GATEHOUSE_HASH_CONCURRENCY must be a number")
		}
	}
	c.Secret = getenv("GATEHOUSE_SECRET")
	c.BootstrapClientID = getenv("GATEHOUSE_BOOTSTRAP_CLIENT_ID")
	c.BootstrapClientSecret = getenv("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET")
	return c, c.finish()
}

// finish fills derived defaults and validates.
func (c *Config) finish() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer(c.Addr, c.TLSCert != "")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--issuer %q must be an http(s) URL without query or fragment", c.Issuer)
	}
	if !strings.HasSuffix(c.Issuer, "/") {
		c.Issuer += "/"
	}
	if c.PasswordHash != "argon2id" && c.PasswordHash != "bcrypt" {
		return fmt.Errorf("--password-hash %q: want argon2id or bcrypt", c.PasswordHash)
	}
	if c.HashConcurrency < 0 {
		return errors.New("--hash-concurrency must not be negative")
	}
	if c.HashConcurrency == 0 {
		c.HashConcurrency = runtime.NumCPU()
	}
	if (c.BootstrapClientID == "") != (c.BootstrapClientSecret == "") {
		return errors.New("GATEHOUSE_BOOTSTRAP_CLIENT_ID and GATEHOUSE_BOOTSTRAP_CLIENT_SECRET go together")
	}
	if c.BootstrapClientSecret != "" && len(c.BootstrapClientSecret) < 16 {
		return errors.New("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET must be at least 16 characters")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("--log-format %q: want json or text", c.LogFormat)
	}
	return nil
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
