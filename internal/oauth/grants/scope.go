package grants

import (
	"slices"
	"strings"
)

// oidcScopes are the standard OIDC scopes, in response order.
var oidcScopes = []string{"openid", "profile", "email", "address", "phone"}

// splitScope splits a space-delimited scope string, dropping empties and
// duplicates.
func splitScope(s string) []string {
	var out []string
	for _, v := range strings.Fields(s) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// userScopes applies Auth0's Resource Owner Password rule (spec §5.2): no API
// scope asked → all of the API's scopes; "openid" as the only OIDC scope →
// all OIDC scopes; anything unknown is dropped. offline reports whether
// offline_access was asked for; whether it is granted is the caller's call.
func userScopes(requested, apiScopes []string) (granted []string, offline bool) {
	var oidc, api []string
	for _, s := range requested {
		switch {
		case slices.Contains(oidcScopes, s):
			oidc = append(oidc, s)
		case slices.Contains(apiScopes, s):
			api = append(api, s)
		case s == "offline_access":
			offline = true
		}
	}
	if len(oidc) == 1 && oidc[0] == "openid" {
		oidc = oidcScopes
	}
	if len(api) == 0 {
		api = apiScopes
	}
	granted = make([]string, 0, len(oidc)+len(api)+1)
	for _, s := range oidcScopes {
		if slices.Contains(oidc, s) {
			granted = append(granted, s)
		}
	}
	granted = append(granted, api...)
	return granted, offline
}

// subset returns the members of want missing from have.
func missing(want, have []string) []string {
	var out []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			out = append(out, s)
		}
	}
	return out
}
