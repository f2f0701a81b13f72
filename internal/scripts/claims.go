package scripts

import (
	"net/url"
	"sort"
	"strings"
)

// restrictedClaims are the registered and internal claims a script may not
// set or override (Auth0's list; a collision drops the custom value).
var restrictedClaims = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`acr act active amr at_hash ath attest aud auth_time authorization_details azp
		c_hash client_id cnf cty dest entitlements events exp groups gty htm htu iat internalService iss jcard
		jku jti jwe jwk kid may_act mky nbf nonce object_id org_id org_name orig origid permissions roles rph
		sid sip_callid sip_cseq_num sip_date sip_from_tag sip_via_branch sub sub_jwk scope toe txn typ uuid
		vot vtm x5c x5t x5t#S256 x5u zip`) {
		restrictedClaims[c] = true
	}
}

// scopedClaims are the standard claims that need a scope to appear, even
// when a script sets them.
var scopedClaims = map[string]string{
	"name": "profile", "family_name": "profile", "given_name": "profile", "middle_name": "profile",
	"nickname": "profile", "preferred_username": "profile", "profile": "profile", "picture": "profile",
	"website": "profile", "gender": "profile", "birthdate": "profile", "zoneinfo": "profile",
	"locale": "profile", "updated_at": "profile",
	"email": "email", "email_verified": "email",
	"phone_number": "phone", "phone_number_verified": "phone",
	"address": "address",
}

// namespaced reports whether a claim name is a URL or URN.
func namespaced(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "urn:")
}

// reservedNamespace reports whether a claim name sits in a namespace Auth0
// keeps for itself: auth0.com, webtask.io, webtask.run and urn:auth0.
func reservedNamespace(name string) bool {
	l := strings.ToLower(name)
	if strings.HasPrefix(l, "urn:auth0") {
		return true
	}
	if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
		return false
	}
	u, err := url.Parse(l)
	if err != nil {
		return true
	}
	host := u.Hostname()
	for _, d := range []string{"auth0.com", "webtask.io", "webtask.run"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// filterClaims applies Auth0's custom-claim rules to claims, given the
// final scope, and appends the names it dropped to dropped.
func filterClaims(claims map[string]any, scope []string, namespacedOnly bool, dropped []string) (map[string]any, []string) {
	granted := map[string]bool{}
	for _, s := range scope {
		granted[s] = true
	}
	out := make(map[string]any, len(claims))
	names := make([]string, 0, len(claims))
	for k := range claims {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		need, standard := scopedClaims[k]
		switch {
		case k == "" || restrictedClaims[k] || reservedNamespace(k):
		case namespacedOnly && !namespaced(k):
		case standard && !granted[need]:
		default:
			out[k] = claims[k]
			continue
		}
		dropped = append(dropped, k)
	}
	return out, dropped
}
