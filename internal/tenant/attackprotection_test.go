package tenant

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseAllowlist: any allowlist entry of attack protection's settings
// is refused or read as a network that contains the address it names (an
// address with a zone, fe80::1%eth0, is in none, so it is refused).
func FuzzParseAllowlist(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.1", "10.0.0.1/33", "fe80::1%eth0",
		" 192.168.0.1 ", "1.2.3.4/0", "x", "", "1.2.3.4/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		nets, err := ParseAllowlist([]string{entry})
		if err != nil {
			return
		}
		if len(nets) != 1 || !nets[0].IsValid() || nets[0] != nets[0].Masked() {
			t.Fatalf("%q: %v", entry, nets)
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(entry)); err == nil && !Allowed(nets, a.String()) {
			t.Fatalf("%q: %v does not contain the address", entry, nets)
		}
	})
}
