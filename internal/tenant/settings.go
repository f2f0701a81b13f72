package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/gatehouse/gatehouse/internal/store"
)

// SettingsDefaults are the tenant settings Auth0 shows for settings never
// set.
func SettingsDefaults() map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"session_lifetime":           json.RawMessage(`168`),
		"idle_session_lifetime":      json.RawMessage(`72`),
		"resource_parameter_profile": json.RawMessage(`"audience"`),
	}
}

// GetSettings returns the tenant settings as stored.
func (s *Service) GetSettings(ctx context.Context) (*store.TenantSettings, error) {
	ts, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("get tenant settings: %w", err)
	}
	return ts, nil
}

// UpdateSettings merges patch (a decoded JSON object) into the settings:
// objects (such as flags) are merged key by key, a null deletes, anything
// else replaces. default_directory is not checked against the
// connections, like Auth0, so tooling may set it before it creates the
// connection.
func (s *Service) UpdateSettings(ctx context.Context, patch map[string]any) (_ *store.TenantSettings, err error) {
	defer s.audit(ctx, "Update tenant settings", &err)
	if err := validateSettingsPatch(patch); err != nil {
		return nil, err
	}
	return s.Store.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error {
		cur := map[string]any{}
		for k, raw := range SettingsDocument(ts) {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("decode tenant setting %s: %w", k, err)
			}
			cur[k] = v
		}
		merged := map[string]json.RawMessage{}
		for k, v := range deepMerge(cur, patch) {
			raw, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("encode tenant setting %s: %w", k, err)
			}
			merged[k] = raw
		}
		next, err := settingsFromDocument(merged)
		if err != nil {
			return err
		}
		// The MFA configuration and attack protection have endpoints of
		// their own (guardian.go, attackprotection.go).
		next.Guardian, next.AttackProtection = ts.Guardian, ts.AttackProtection
		*ts = *next
		return nil
	})
}

// The settings gatehouse acts on, by their Auth0 names.
const (
	settingDefaultDirectory = "default_directory"
	settingDefaultAudience  = "default_audience"
	settingFriendlyName     = "friendly_name"
	settingFlags            = "flags"
)

// SettingsDocument is the tenant settings as Auth0 names them: the
// settings gatehouse acts on (when set) and every other one as it was
// given.
func SettingsDocument(ts *store.TenantSettings) map[string]json.RawMessage {
	doc := make(map[string]json.RawMessage, len(ts.Other)+4)
	for k, v := range ts.Other {
		doc[k] = v
	}
	for _, k := range []string{settingDefaultDirectory, settingDefaultAudience, settingFriendlyName, settingFlags} {
		delete(doc, k)
	}
	for k, v := range map[string]string{
		settingDefaultDirectory: ts.DefaultDirectory,
		settingDefaultAudience:  ts.DefaultAudience,
		settingFriendlyName:     ts.FriendlyName,
	} {
		if v != "" {
			doc[k], _ = json.Marshal(v)
		}
	}
	if len(ts.Flags) > 0 {
		doc[settingFlags], _ = json.Marshal(ts.Flags)
	}
	return doc
}

// settingsFromDocument reads a settings document (SettingsDocument's shape).
func settingsFromDocument(doc map[string]json.RawMessage) (*store.TenantSettings, error) {
	ts := &store.TenantSettings{}
	for k, raw := range doc {
		var dst any
		switch k {
		case settingDefaultDirectory:
			dst = &ts.DefaultDirectory
		case settingDefaultAudience:
			dst = &ts.DefaultAudience
		case settingFriendlyName:
			dst = &ts.FriendlyName
		case settingFlags:
			dst = &ts.Flags
		default:
			if ts.Other == nil {
				ts.Other = map[string]json.RawMessage{}
			}
			ts.Other[k] = raw
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				e := TypeError(te)
				e.Property = strings.TrimSuffix(k+"."+te.Field, ".")
				return nil, e
			}
			return nil, invalidProp(k, "%s", err.Error())
		}
	}
	if len(ts.Flags) == 0 {
		ts.Flags = nil
	}
	return ts, nil
}

// validateSettingsPatch checks the types of the settings gatehouse acts on.
func validateSettingsPatch(patch map[string]any) error {
	for _, k := range []string{"default_directory", "default_audience", "friendly_name", "resource_parameter_profile"} {
		if v, ok := patch[k]; ok && v != nil {
			if _, isStr := v.(string); !isStr {
				return invalidProp(k, "Expected type string")
			}
		}
	}
	if v, ok := patch["resource_parameter_profile"].(string); ok && v != "audience" && v != "compatibility" {
		return invalidProp("resource_parameter_profile", "No enum match for: %s", v)
	}
	for _, k := range []string{"session_lifetime", "idle_session_lifetime"} {
		if v, ok := patch[k]; ok && v != nil {
			if n, isNum := v.(float64); !isNum || n <= 0 {
				return invalidProp(k, "Expected a positive number")
			}
		}
	}
	if v, ok := patch[SettingScriptAllowedHosts]; ok && v != nil {
		list, isList := v.([]any)
		if !isList {
			return invalidProp(SettingScriptAllowedHosts, "Expected type array")
		}
		for _, h := range list {
			if s, isStr := h.(string); !isStr || !validHost(s) {
				return invalidProp(SettingScriptAllowedHosts, "Each entry is a host, host:port or *.domain")
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(otherSettingKinds)) {
		if v, ok := patch[k]; ok && v != nil && !isKind(v, otherSettingKinds[k]) {
			if otherSettingKinds[k] == "array" {
				return invalidProp(k, "Expected type array of strings")
			}
			return invalidProp(k, "Expected type %s", otherSettingKinds[k])
		}
	}
	if v, ok := patch["flags"]; ok && v != nil {
		flags, isObj := v.(map[string]any)
		if !isObj {
			return invalidProp("flags", "Expected type object")
		}
		for name, f := range flags {
			if _, isBool := f.(bool); !isBool && f != nil {
				return invalidProp("flags."+name, "Expected type boolean")
			}
		}
	}
	return nil
}

// otherSettingKinds are the JSON types of the Auth0 tenant settings
// gatehouse keeps without acting on them: it stores what it is given, so
// a value of another type would come back to every client that reads the
// settings (SDKs decode them into typed fields).
var otherSettingKinds = map[string]string{
	"picture_url": "string", "support_email": "string", "support_url": "string", "default_redirection_uri": "string",
	"sandbox_version":     "string",
	"allowed_logout_urls": "array", "enabled_locales": "array", "acr_values_supported": "array",
	"change_password": "object", "guardian_mfa_page": "object", "error_page": "object", "device_flow": "object",
	"session_cookie": "object", "sessions": "object", "oidc_logout": "object", "mtls": "object",
	"ephemeral_session_lifetime": "number", "idle_ephemeral_session_lifetime": "number",
	"allow_organization_name_in_authentication_api": "boolean", "customize_mfa_in_postlogin_action": "boolean",
	"pushed_authorization_requests_supported": "boolean", "authorization_response_iss_parameter_supported": "boolean",
}

// isKind reports whether v, decoded from JSON, is of the JSON type kind;
// an array's members must be strings (every array setting is a list of
// names or URLs).
func isKind(v any, kind string) bool {
	switch x := v.(type) {
	case string:
		return kind == "string"
	case float64:
		return kind == "number"
	case bool:
		return kind == "boolean"
	case map[string]any:
		return kind == "object"
	case []any:
		for _, m := range x {
			if _, ok := m.(string); !ok {
				return false
			}
		}
		return kind == "array"
	}
	return false
}

// SettingScriptAllowedHosts is gatehouse's own tenant setting (Auth0 has
// none: its rules reach any host): the hosts, as host, host:port or
// *.domain, that every rule and Action may reach over HTTP, beside those
// of --script-allowed-hosts. An array replaces the list; null clears it.
const SettingScriptAllowedHosts = "gatehouse_script_allowed_hosts"

// ScriptAllowedHosts reads SettingScriptAllowedHosts from ts; a value that
// is not a list of strings (it was validated when set) counts as none.
func ScriptAllowedHosts(ts *store.TenantSettings) []string {
	if ts == nil {
		return nil
	}
	raw, ok := ts.Other[SettingScriptAllowedHosts]
	if !ok {
		return nil
	}
	var hosts []string
	if json.Unmarshal(raw, &hosts) != nil {
		return nil
	}
	return hosts
}

// validHost accepts what the sandbox's allowlist matches: a host name or
// address, host:port, or *.domain.
func validHost(h string) bool {
	h = strings.TrimSpace(h)
	return h != "" && len(h) <= 253 && !strings.ContainsAny(h, "/@?#") &&
		!strings.ContainsFunc(h, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// deepMerge merges patch into cur: nested objects recursively, null
// deletes, other values replace.
func deepMerge(cur, patch map[string]any) map[string]any {
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(cur, k)
		case map[string]any:
			cv, _ := cur[k].(map[string]any)
			cur[k] = deepMerge(cv, pv)
		default:
			cur[k] = v
		}
	}
	return cur
}
