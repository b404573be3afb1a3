// Package netaddr reads the address lists IT writes in the broker's
// configuration: trusted proxies, the console's ranges.
package netaddr

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefixes reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.5, 192.0.2.0/24"); an address is its own /32 or
// /128, IPv4-mapped IPv6 addresses are read as IPv4. Empty items are
// skipped; a bad one is named in the error.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix (e.g. 10.20.0.0/16)", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
