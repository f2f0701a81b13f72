package config

import (
	"io"
	"testing"
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
		{"bootstrap id alone", nil, map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "id"}, nil, true},
		{"short bootstrap secret", nil, map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "id", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": "short"}, nil, true},
		{"tls cert alone", []string{"--tls-cert", "c.pem"}, nil, nil, true},
		{"issuer not a URL", []string{"--issuer", "auth.example.com"}, nil, nil, true},
		{"issuer with query", []string{"--issuer", "https://a/?x=1"}, nil, nil, true},
		{"unknown hash", []string{"--password-hash", "md5"}, nil, nil, true},
		{"unknown flag", []string{"--nope"}, nil, nil, true},
		{"stray argument", []string{"extra"}, nil, nil, true},
		{"bad concurrency env", nil, map[string]string{"GATEHOUSE_HASH_CONCURRENCY": "many"}, nil, true},
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
