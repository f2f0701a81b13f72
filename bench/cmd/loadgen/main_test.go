package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func noenv(string) string { return "" }

func TestParseRefusesWhatItCannotMeasure(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // substring of the error; "" for none
	}{
		{"defaults", nil, ""},
		{"loopback url", []string{"-url", "http://127.0.0.1:8080", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, ""},
		{"localhost url", []string{"-url", "http://localhost:8080/", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, ""},
		{"ipv6 loopback url", []string{"-url", "http://[::1]:8080", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, ""},
		{"private address", []string{"-url", "http://10.0.0.5:8080", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, "loopback"},
		{"host name", []string{"-url", "https://auth.example.com", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, "loopback"},
		{"url without credentials", []string{"-url", "http://127.0.0.1:8080"}, "mgmt-client-id"},
		{"unknown grant", []string{"-grant", "implicit"}, "-grant"},
		{"unknown hash", []string{"-hash", "md5"}, "-hash"},
		{"no workers", []string{"-c", "0"}, "-c"},
		{"pid without url", []string{"-pid", "1"}, "-pid"},
		{"startup without binary", []string{"-startup", "3"}, "-startup"},
		{"two urls", []string{"-url", "http://127.0.0.1:8080", "-url", "http://127.0.0.1:8081/", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, ""},
		{"comma list", []string{"-url", "http://127.0.0.1:8080,http://localhost:8081", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, ""},
		{"one url not loopback", []string{"-url", "http://127.0.0.1:8080,http://10.0.0.5:8081", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, "loopback"},
		{"pid with two urls", []string{"-url", "http://127.0.0.1:8080,http://127.0.0.1:8081", "-pid", "1", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, "-pid"},
		{"url and binary", []string{"-url", "http://127.0.0.1:1", "-gatehouse", "/bin/true"}, "exclude"},
		{"postgres write probe", []string{"-url", "http://127.0.0.1:8080", "-write-db", "postgres://postgres@127.0.0.1:5432/gh", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, ""},
		{"write probe on a file database", []string{"-url", "http://127.0.0.1:8080", "-write-db", "/tmp/g.db", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, "postgres://"},
		{"postgres write probe without url", []string{"-write-db", "postgres://postgres@127.0.0.1:5432/gh"}, "-write-db"},
		{"two write probes", []string{"-url", "http://127.0.0.1:8080", "-write-db", "postgres://h/gh", "-write-dir", "/tmp", "-mgmt-client-id", "a", "-mgmt-client-secret", "b"}, "-write-db"},
		{"no P for the load", []string{"-procs", "0"}, "-procs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(c.args, noenv, io.Discard)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one about %q", err, c.want)
			}
		})
	}
}

func TestParseTakesManagementCredentialsFromTheEnvironment(t *testing.T) {
	env := map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "id", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": "secret"}
	o, err := parse([]string{"-url", "http://127.0.0.1:8080"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || o.mgmtID != "id" || o.mgmtSecret != "secret" {
		t.Fatalf("options %+v, error %v", o, err)
	}
}

// TestRunReportsEachGrant runs every mode briefly against an in-process
// server and checks the report names the figures the issue asks for.
func TestRunReportsEachGrant(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load")
	}
	base := []string{"-hash", "bcrypt", "-c", "2", "-rc", "1", "-n", "6", "-warmup", "0", "-ceiling-samples", "3"}
	cases := []struct {
		grant string
		want  []string
	}{
		{"password", []string{"password, 2 workers: 6 requests", "cores / verify", "p50 / one verification", "p90", "p99"}},
		{"refresh", []string{"refresh, 2 workers: 6 requests", "1 / (2 sign / cores + write)", "target >= 0.90", "after the load: RS256 sign", "before and after pooled", "write probe: durable SQLite commit"}},
		{"client_credentials", []string{"client_credentials, 2 workers: 6 requests", "cores / sign"}},
		{"mixed", []string{"refresh alone, 1 workers", "password (saturating), 2 workers", "refresh p50 saturated / alone"}},
	}
	for _, c := range cases {
		t.Run(c.grant, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"-grant", c.grant}, base...), noenv, &out, io.Discard); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "errors: ") {
				t.Errorf("the run had errors:\n%s", out.String())
			}
		})
	}
}
