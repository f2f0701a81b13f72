package store

import (
	"encoding/json"
	"fmt"
)

// tenantKnown is TenantSettings without methods, so its JSON encoding does
// not recurse into TenantSettings.MarshalJSON.
type tenantKnown TenantSettings

var tenantKnownKeys = []string{"default_directory", "default_audience", "friendly_name", "flags", "guardian", "attack_protection"}

// MarshalJSON writes the typed fields and every field kept in Other.
func (t TenantSettings) MarshalJSON() ([]byte, error) {
	known, err := json.Marshal(tenantKnown(t))
	if err != nil {
		return nil, err
	}
	if len(t.Other) == 0 {
		return known, nil
	}
	doc := make(map[string]json.RawMessage, len(t.Other)+4)
	for k, v := range t.Other {
		doc[k] = v
	}
	var typed map[string]json.RawMessage
	if err := json.Unmarshal(known, &typed); err != nil {
		return nil, err
	}
	for _, k := range tenantKnownKeys {
		delete(doc, k)
	}
	for k, v := range typed {
		doc[k] = v
	}
	return json.Marshal(doc)
}

// UnmarshalJSON reads the typed fields and keeps every other field in Other.
func (t *TenantSettings) UnmarshalJSON(b []byte) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("tenant settings: %w", err)
	}
	var known tenantKnown
	if err := json.Unmarshal(b, &known); err != nil {
		return fmt.Errorf("tenant settings: %w", err)
	}
	for _, k := range tenantKnownKeys {
		delete(doc, k)
	}
	*t = TenantSettings(known)
	if len(doc) > 0 {
		t.Other = doc
	}
	return nil
}
