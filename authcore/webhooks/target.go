package webhooks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// CheckTarget refuses a receiver URL that is not http(s), carries credentials, or (unless
// allowPrivate) names a loopback, private, link-local or otherwise internal address, by
// literal or by what its name resolves to now: a webhook must not become a way into the
// gateway's own network. Delivery checks again at each connection (DNS may change).
func CheckTarget(ctx context.Context, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("url must be an absolute http or https URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("url must be http or https, not %q", u.Scheme)
	case u.User != nil:
		return fmt.Errorf("url must not carry a user or password; receivers verify the signature instead")
	case u.Fragment != "":
		return fmt.Errorf("url must not have a fragment")
	case len(raw) > 2000:
		return fmt.Errorf("url must be at most 2000 characters")
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return errPrivate(host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if internal(ip) {
			return errPrivate(host)
		}
		return nil
	}
	lookup, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(lookup, "ip", host)
	if err != nil {
		return nil // not resolvable yet: each delivery's connection is checked
	}
	for _, ip := range addrs {
		if internal(ip) {
			return errPrivate(host)
		}
	}
	return nil
}

func errPrivate(host string) error {
	return fmt.Errorf("url's host %s is a loopback or private address; webhooks go to public receivers unless the gateway's webhook_private_targets option allows it", host)
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598), internal too.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// internal reports whether ip is not a public unicast address.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip) ||
		!ip.IsGlobalUnicast()
}

// refuseInternal is a net.Dialer Control that refuses connections to internal
// addresses: it runs after DNS, on the address actually dialled, so a name that
// resolves somewhere else at delivery time is caught too.
func refuseInternal(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook target %s: %w", address, err)
	}
	if internal(ap.Addr()) {
		return fmt.Errorf("webhook target %s is a loopback or private address (webhook_private_targets)", ap.Addr())
	}
	return nil
}
