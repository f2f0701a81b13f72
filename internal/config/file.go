package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxFileBytes bounds the configuration file: it holds a dozen settings.
const maxFileBytes = 1 << 20

// readFile reads a YAML configuration file: a mapping from setting names
// (the flag names) to scalar values. An unknown key, a secret setting or a
// non-scalar value is an error naming the key, so a typo never passes
// silently.
func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("--config %s: larger than %d bytes", path, maxFileBytes)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // an empty file sets nothing
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("--config %s: want a mapping of setting: value", path)
	}
	known := map[string]Setting{}
	for _, s := range Settings {
		if s.Name != "" {
			known[s.Name] = s
		}
	}
	out := map[string]string{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if _, ok := known[key]; !ok {
			if secretEnv(key) != "" {
				return nil, fmt.Errorf("--config %s line %d: %s is read from %s only, never from a file", path, k.Line, key, secretEnv(key))
			}
			return nil, fmt.Errorf("--config %s line %d: unknown setting %q (known: %s)", path, k.Line, key, knownNames())
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("--config %s line %d: %s wants a single value", path, v.Line, key)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("--config %s line %d: %s is set twice", path, k.Line, key)
		}
		out[key] = v.Value
	}
	return out, nil
}

// secretEnv maps a file key that looks like a secret setting to the
// environment variable that carries it.
func secretEnv(key string) string {
	norm := strings.ReplaceAll(strings.ToLower(key), "_", "-")
	for _, s := range Settings {
		if s.Secret && strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.Env, "GATEHOUSE_")), "_", "-") == norm {
			return s.Env
		}
	}
	return ""
}

func knownNames() string {
	var names []string
	for _, s := range Settings {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
