package caddymodule

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/keygate/keygate/authcore"
)

// projectUIDHeader selects the project a request acts in, as Palette clients send it;
// incoming header names are canonical, so it arrives as projectUIDCanonical.
const (
	projectUIDHeader    = "ProjectUid"
	projectUIDCanonical = "Projectuid"
)

// IdentityHeaders names the headers the handler sets on the request it passes on.
type IdentityHeaders struct {
	// UserUID carries the user's uid. Default: X-User-Uid.
	UserUID string `json:"user_uid,omitempty"`
	// UserEmail carries the user's email. Default: X-User-Email.
	UserEmail string `json:"user_email,omitempty"`
	// TenantUID carries the user's tenant uid. Default: X-Tenant-Uid.
	TenantUID string `json:"tenant_uid,omitempty"`
	// UserRole carries the user's role, tenant-admin or user. Default: X-User-Role.
	UserRole string `json:"user_role,omitempty"`
	// AuthMethod carries how the request authenticated, apikey or token.
	// Default: X-Auth-Method.
	AuthMethod string `json:"auth_method,omitempty"`
	// APIKeyUID carries the uid of the API key used, if any. Default: X-Api-Key-Uid.
	APIKeyUID string `json:"api_key_uid,omitempty"`
	// ProjectUID carries the project the request acts in, set only after membership was
	// checked. Default: ProjectUid.
	ProjectUID string `json:"project_uid,omitempty"`
}

// identityHeaders is IdentityHeaders with defaults applied, plus the list of names to
// strip from incoming requests.
type identityHeaders struct {
	IdentityHeaders
	// forged holds every name a client might use to smuggle identity, lower-cased with
	// '_' and '.' folded to '-'.
	forged []string
	// canonical holds the configured names in canonical form, in the order set uses.
	canonical []string
}

// defaultIdentityHeaders are always stripped from requests, even when renamed, so an
// upstream that still reads a default name cannot be fooled.
var defaultIdentityHeaders = IdentityHeaders{
	UserUID:    "X-User-Uid",
	UserEmail:  "X-User-Email",
	TenantUID:  "X-Tenant-Uid",
	UserRole:   "X-User-Role",
	AuthMethod: "X-Auth-Method",
	APIKeyUID:  "X-Api-Key-Uid",
	ProjectUID: projectUIDHeader,
}

func newIdentityHeaders(cfg *IdentityHeaders) identityHeaders {
	var h identityHeaders
	if cfg != nil {
		h.IdentityHeaders = *cfg
	}
	defaults := defaultIdentityHeaders.names()
	for i, field := range h.fields() {
		if *field == "" {
			*field = defaults[i]
		}
	}
	for _, name := range h.names() {
		h.canonical = append(h.canonical, http.CanonicalHeaderKey(name))
	}
	// The client's ProjectUid, and its spelling with a separator, are inputs we check,
	// never identity we pass on unchecked.
	for _, name := range append(append(h.names(), defaults...), "project-uid") {
		if folded := foldHeaderName(name); !slices.Contains(h.forged, folded) {
			h.forged = append(h.forged, folded)
		}
	}
	return h
}

// fields lists the configurable names in a fixed order.
func (h *IdentityHeaders) fields() []*string {
	return []*string{&h.UserUID, &h.UserEmail, &h.TenantUID, &h.UserRole, &h.AuthMethod, &h.APIKeyUID, &h.ProjectUID}
}

func (h identityHeaders) validate() error {
	for _, name := range h.names() {
		if !validHeaderName(name) {
			return fmt.Errorf("keygate: %q is not a valid header name", name)
		}
	}
	return nil
}

func (h IdentityHeaders) names() []string {
	return []string{h.UserUID, h.UserEmail, h.TenantUID, h.UserRole, h.AuthMethod, h.APIKeyUID, h.ProjectUID}
}

// strip deletes every identity header the client sent, in any case and with '_' or '.'
// in place of '-' (CGI-style backends treat them alike). Caddy drops such spellings by
// default, but not when a site allowlists them with expected_underscore_headers.
//
// It also removes identity header names from the Connection header: a proxy deletes the
// headers named there as hop-by-hop, which would let a client erase the identity Keygate
// sets, leaving the upstream to fall back to whatever it assumes without them.
func (h identityHeaders) strip(header http.Header) {
	for name := range header {
		if h.isForged(name) {
			delete(header, name)
		}
	}
	if conn, ok := header["Connection"]; ok {
		h.stripConnection(header, conn)
	}
}

func (h identityHeaders) isForged(name string) bool {
	for _, forged := range h.forged {
		if sameFolded(name, forged) {
			return true
		}
	}
	return false
}

func (h identityHeaders) stripConnection(header http.Header, conn []string) {
	var kept []string
	for _, value := range conn {
		for _, token := range strings.Split(value, ",") {
			if token = strings.TrimSpace(token); token != "" && !h.isForged(token) {
				kept = append(kept, token)
			}
		}
	}
	if len(kept) == 0 {
		delete(header, "Connection")
		return
	}
	header["Connection"] = []string{strings.Join(kept, ", ")}
}

// set passes p on in the identity headers and in placeholders for other directives.
// The values share one backing array (each capped, so an append cannot spill into the
// next) and the placeholders are one provider: two allocations instead of thirteen.
func (h identityHeaders) set(r *http.Request, p *authcore.Principal, projectUID string) {
	vals := make([]string, 7)
	vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6] =
		p.UserUID, p.Email, p.TenantUID, string(p.Role), string(p.Method), p.KeyUID, projectUID
	header := r.Header
	for i, name := range h.canonical {
		if vals[i] != "" {
			header[name] = vals[i : i+1 : i+1]
		}
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Map(identityPlaceholders{p: p, projectUID: projectUID}.lookup)
	}
}

// identityPlaceholders serves {http.auth.user.*} for the authenticated principal.
type identityPlaceholders struct {
	p          *authcore.Principal
	projectUID string
}

func (ip identityPlaceholders) lookup(key string) (any, bool) {
	switch key {
	case "http.auth.user.id":
		return ip.p.UserUID, true
	case "http.auth.user.email":
		return ip.p.Email, true
	case "http.auth.user.tenant_uid":
		return ip.p.TenantUID, true
	case "http.auth.user.role":
		return string(ip.p.Role), true
	case "http.auth.user.method":
		return string(ip.p.Method), true
	case "http.auth.user.api_key_uid":
		return ip.p.KeyUID, true
	case "http.auth.user.project_uid":
		return ip.projectUID, true
	}
	return nil, false
}

func foldHeaderName(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = foldByte(c)
	}
	return string(b)
}

// sameFolded compares a header name with a folded one, without allocating.
func sameFolded(name, folded string) bool {
	if len(name) != len(folded) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if foldByte(name[i]) != folded[i] {
			return false
		}
	}
	return true
}

func foldByte(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	case c == '_', c == '.':
		return '-'
	}
	return c
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
