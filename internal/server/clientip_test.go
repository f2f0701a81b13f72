package server

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	cases := []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"no trusted proxies: the header is ignored", "203.0.113.5", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"untrusted peer: ignored", "203.0.113.5", []string{"198.51.100.1"}, trusted, "203.0.113.5"},
		{"trusted peer, one hop", "10.1.2.3", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"spoofed left entries are not believed", "10.1.2.3", []string{"1.1.1.1, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"a chain of trusted proxies", "10.1.2.3", []string{"198.51.100.1, 192.0.2.7", "10.9.9.9"}, trusted, "198.51.100.1"},
		{"every hop trusted: the leftmost", "10.1.2.3", []string{"10.0.0.1, 10.0.0.2"}, trusted, "10.0.0.1"},
		{"malformed entry ends the walk", "10.1.2.3", []string{"198.51.100.1, garbage, 10.0.0.2"}, trusted, "10.0.0.2"},
		{"no header", "10.1.2.3", nil, trusted, "10.1.2.3"},
		{"IPv6 and mapped IPv4", "10.1.2.3", []string{"::ffff:198.51.100.9"}, trusted, "198.51.100.9"},
		{"unparsable peer", "not-an-ip", []string{"198.51.100.1"}, trusted, "not-an-ip"},
	}
	for _, c := range cases {
		if got := clientIP(c.peer, c.xff, c.trusted); got != c.want {
			t.Errorf("%s: clientIP = %q, want %q", c.name, got, c.want)
		}
	}
}

func FuzzClientIP(f *testing.F) {
	f.Add("10.1.2.3", "198.51.100.1, 10.0.0.2")
	f.Add("10.1.2.3", ",,,")
	f.Add("::1", "::ffff:1.2.3.4")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		got := clientIP(peer, []string{xff}, trusted)
		if got != peer {
			if _, err := netip.ParseAddr(got); err != nil {
				t.Fatalf("clientIP(%q, %q) = %q: neither the peer nor an address", peer, xff, got)
			}
		}
	})
}
