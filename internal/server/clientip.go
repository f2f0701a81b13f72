package server

import (
	"net/netip"
	"strings"
)

// maxForwardedHops bounds the X-Forwarded-For entries looked at: a chain
// of proxies is short, and a long header is someone else's invention.
const maxForwardedHops = 20

// clientIP is the end user's address: the peer, unless the peer is one of
// the trusted proxies, in which case the rightmost X-Forwarded-For entry
// that is not itself a trusted proxy. Entries to its left were written by
// whoever sent the request and are never believed. A malformed entry ends
// the walk at the last trusted hop.
func clientIP(peer string, forwarded []string, trusted []netip.Prefix) string {
	if len(trusted) == 0 || len(forwarded) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !inNetworks(trusted, addr) {
		return peer
	}
	var hops []string
	for i := len(forwarded) - 1; i >= 0 && len(hops) < maxForwardedHops; i-- {
		parts := strings.Split(forwarded[i], ",")
		for j := len(parts) - 1; j >= 0 && len(hops) < maxForwardedHops; j-- {
			hops = append(hops, strings.TrimSpace(parts[j]))
		}
	}
	ip := addr.Unmap().String()
	for _, h := range hops {
		a, err := netip.ParseAddr(h)
		if err != nil {
			return ip
		}
		ip = a.Unmap().String()
		if !inNetworks(trusted, a) {
			return ip
		}
	}
	return ip
}

func inNetworks(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}
