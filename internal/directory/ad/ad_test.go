package ad

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/ldapdir"
	"github.com/gatehouse/gatehouse/internal/store"
)

// testCA returns a self-signed certificate in PEM.
func testCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestValidateOptions(t *testing.T) {
	t.Parallel()
	base := map[string]any{"url": "ldaps://ldap.example.com:636", "base_dn": "ou=people,dc=example,dc=com"}
	with := func(k string, v any) string {
		m := map[string]any{}
		for bk, bv := range base {
			m[bk] = bv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name      string
		in        string
		wantField string // "": valid
	}{
		{"empty: not configured yet", ``, ""},
		{"{}: not configured yet", `{}`, ""},
		{"only Auth0 keys: not configured yet", `{"ips":["10.0.0.1"],"brute_force_protection":true}`, ""},
		{"minimal", with("", nil), ""},
		{"ldap:// with a port", with("url", "ldap://10.0.0.5:389"), ""},
		{"a CA bundle", with("ca_bundle", testCA(t)), ""},
		{"everything", `{"url":"ldap://ldap.example.com","start_tls":true,"bind_dn":"cn=svc,dc=example,dc=com",
			"bind_password":"s3cret","base_dn":"dc=example,dc=com","user_filter":"(&(objectClass=person)(uid={0}))",
			"attributes":{"uid":"sAMAccountName","email":"mail","groups":"memberOf","name":"displayName"},
			"connect_timeout_ms":2000,"read_timeout_ms":5000,"ips":[]}`, ""},
		{"a DN with escaped comma", with("base_dn", `ou=Sales\, EMEA,dc=example,dc=com`), ""},
		{"url missing", with("url", nil), "options.url"},
		{"url of another scheme", with("url", "https://ldap.example.com"), "options.url"},
		{"url without host", with("url", "ldap://"), "options.url"},
		{"url with a query", with("url", "ldap://h/?x"), "options.url"},
		{"url with a bad port", with("url", "ldap://h:99999"), "options.url"},
		{"url of the wrong type", with("url", 3), "options.url"},
		{"StartTLS over ldaps", `{"url":"ldaps://h","start_tls":true,"base_dn":"dc=x"}`, "options.start_tls"},
		{"CA bundle that is not PEM", with("ca_bundle", "not a certificate"), "options.ca_bundle"},
		{"bind_dn without password", with("bind_dn", "cn=svc,dc=x"), "options.bind_password"},
		{"bind_dn not a DN", `{"url":"ldap://h","base_dn":"dc=x","bind_dn":"svc","bind_password":"p"}`, "options.bind_dn"},
		{"base_dn missing", with("base_dn", nil), "options.base_dn"},
		{"base_dn not a DN", with("base_dn", "example.com"), "options.base_dn"},
		{"filter without {0}", with("user_filter", "(uid=admin)"), "options.user_filter"},
		{"filter without parentheses", with("user_filter", "uid={0}"), "options.user_filter"},
		{"filter unbalanced", with("user_filter", "(&(uid={0})"), "options.user_filter"},
		{"filter of two filters", with("user_filter", "(uid={0})(cn=x)"), "options.user_filter"},
		{"Active Directory filters", `{"url":"ldap://h","base_dn":"dc=x","user_filter":"(&(objectClass=user)(sAMAccountName={0}))",
			"disabled_filter":"(userAccountControl:1.2.840.113556.1.4.803:=2)","group_base_dn":"ou=groups,dc=x"}`, ""},
		{"disabled filter malformed", with("disabled_filter", "(userAccountControl=2"), "options.disabled_filter"},
		{"group base not a DN", with("group_base_dn", "groups"), "options.group_base_dn"},
		{"pool size negative", with("pool_size", -1), "options.pool_size"},
		{"max_open too large", with("max_open", 100000), "options.max_open"},
		{"attribute not a name", with("attributes", map[string]string{"email": "mail;x y"}), "options.attributes.email"},
		{"attribute starting with a digit", with("attributes", map[string]string{"groups": "1memberOf"}), "options.attributes.groups"},
		{"attribute as an OID", with("attributes", map[string]string{"uid": "0.9.2342.19200300.100.1.1"}), ""},
		{"negative timeout", with("read_timeout_ms", -1), "options.read_timeout_ms"},
		{"timeout above a minute", with("connect_timeout_ms", 60001), "options.connect_timeout_ms"},
		{"not an object", `["url"]`, "options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := new(Strategy).ValidateOptions(json.RawMessage(tt.in))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateOptions error %v", err)
				}
				if strings.TrimSpace(tt.in) != "" && string(got) != strings.TrimSpace(tt.in) {
					t.Errorf("stored %s, want the options as given", got)
				}
				return
			}
			var oe *directory.OptionsError
			if !errors.As(err, &oe) {
				t.Fatalf("ValidateOptions error %v, want an *OptionsError", err)
			}
			if oe.Field != tt.wantField {
				t.Errorf("field %q, want %q (%s)", oe.Field, tt.wantField, oe.Message)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	o, err := ParseOptions(json.RawMessage(`{"url":"ldap://h","base_dn":"dc=x","attributes":{"email":"userPrincipalName"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !o.Configured() || o.Filter() != DefaultUserFilter || o.ConnectTimeout() != DefaultConnectTimeout || o.ReadTimeout() != DefaultReadTimeout {
		t.Errorf("defaults: %+v", o)
	}
	want := DefaultAttributes
	want.Email = "userPrincipalName"
	if got := o.AttributeMap(); got != want {
		t.Errorf("AttributeMap = %+v, want %+v", got, want)
	}
	// The options are what the LDAP client accepts.
	c, err := ldapdir.New(o.Config())
	if err != nil {
		t.Fatalf("ldapdir.New(Config()) = %v", err)
	}
	c.Close()
}

// A login through an ad connection not configured yet (no url) is a
// connection that cannot be reached, never a refusal.
func TestVerifyIsUnavailable(t *testing.T) {
	t.Parallel()
	_, ok, err := new(Strategy).Verify(context.Background(), &store.Connection{Name: "corp", Strategy: Name}, "ann", "pw")
	if ok || !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("Verify = %v, %v; want ErrUnavailable", ok, err)
	}
}
