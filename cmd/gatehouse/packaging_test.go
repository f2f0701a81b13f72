package main

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/config"
)

const repoRoot = "../.."

// TestDockerfileBuild runs the Dockerfile's own build command (no Docker
// engine runs here) and checks that it makes a static binary that reports
// the version it was given; and that the image runs as non-root with a
// volume for the database.
func TestDockerfileBuild(t *testing.T) {
	t.Parallel()
	df, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*)$`).FindSubmatch(df)
	if build == nil {
		t.Fatal("Dockerfile has no `RUN CGO_ENABLED=0 go build` line")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	command := strings.NewReplacer("${VERSION}", "v9.9.9-test", "/out/gatehouse", bin).Replace(string(build[1]))
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "gatehouse v9.9.9-test (") {
		t.Errorf("%s version = %q, %v", bin, out, err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked (it has an ELF interpreter)")
		}
	}
	for _, want := range []string{"\nUSER 65532:65532\n", `VOLUME ["/data"]`, "GATEHOUSE_DATABASE=/data/gatehouse.db", "FROM gcr.io/distroless/static"} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestDeployExamples keeps deploy/ in step with the settings: the compose
// file runs two gatehouse nodes on PostgreSQL behind a proxy with known
// GATEHOUSE_* variables only, and the systemd unit's configuration file
// passes config check.
func TestDeployExamples(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Env] = true
	}
	nodes := 0
	for name, svc := range compose.Services {
		if !strings.HasPrefix(name, "gatehouse-") {
			continue
		}
		nodes++
		for k := range svc.Environment {
			if strings.HasPrefix(k, "GATEHOUSE_") && !known[k] {
				t.Errorf("docker-compose.yml %s sets unknown %s", name, k)
			}
		}
		if !strings.HasPrefix(svc.Environment["GATEHOUSE_DATABASE"], "postgres://") || svc.Environment["GATEHOUSE_SECRET"] == "" {
			t.Errorf("docker-compose.yml %s is not on PostgreSQL with a shared secret", name)
		}
	}
	if nodes != 2 || !strings.HasPrefix(compose.Services["postgres"].Image, "postgres:") || compose.Services["proxy"].Image == "" {
		t.Errorf("docker-compose.yml: %d gatehouse nodes, postgres %q, proxy %q", nodes, compose.Services["postgres"].Image, compose.Services["proxy"].Image)
	}

	unit, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "gatehouse.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=/usr/local/bin/gatehouse serve --config /etc/gatehouse/gatehouse.yaml", "DynamicUser=yes",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=gatehouse"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("gatehouse.service lacks %s", want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config", "check", "--config", filepath.Join(repoRoot, "deploy", "gatehouse.yaml")}, noEnv, &out, &out); err != nil {
		t.Errorf("config check of deploy/gatehouse.yaml: %v\n%s", err, out.String())
	}
}
