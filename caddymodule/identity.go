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
	// TenantRoles carries the names of the user's effective tenant roles (their own and
	// their teams'), comma-separated; omitted when there are none.
	// Default: X-User-Tenant-Roles.
	TenantRoles string `json:"tenant_roles,omitempty"`
	// ProjectRoles carries the names of the user's effective roles in the project named
	// by ProjectUid, comma-separated; set only after the project was checked, omitted
	// when there are none. Default: X-User-Project-Roles.
	ProjectRoles string `json:"project_roles,omitempty"`
}

// identityHeader is one header through which Keygate passes the identity on.
type identityHeader struct {
	// key names it in the Caddyfile's headers block and in IdentityHeaders' JSON.
	key string
	// field is its IdentityHeaders field, whose doc comment states the default.
	field func(*IdentityHeaders) *string
	// header is the default name. It is always stripped from requests, even when
	// renamed, so an upstream that still reads a default name cannot be fooled.
	header string
	// placeholder carries the same value for other directives.
	placeholder string
	// value reads it for the authenticated principal and the checked project.
	value func(v *identityValues) string
}

// identityValues is what the identity headers carry for one request: the principal, the
// project checked, and the names of the effective roles (comma-separated).
type identityValues struct {
	p                         *authcore.Principal
	projectUID                string
	tenantRoles, projectRoles string
}

// identityTable is every identity header, in a fixed order: the defaults, stripping,
// setting, placeholders and Caddyfile parsing all come from it.
var identityTable = [...]identityHeader{{
	key: "user_uid", field: func(h *IdentityHeaders) *string { return &h.UserUID },
	header: "X-User-Uid", placeholder: "http.auth.user.id",
	value: func(v *identityValues) string { return v.p.UserUID },
}, {
	key: "user_email", field: func(h *IdentityHeaders) *string { return &h.UserEmail },
	header: "X-User-Email", placeholder: "http.auth.user.email",
	value: func(v *identityValues) string { return v.p.Email },
}, {
	key: "tenant_uid", field: func(h *IdentityHeaders) *string { return &h.TenantUID },
	header: "X-Tenant-Uid", placeholder: "http.auth.user.tenant_uid",
	value: func(v *identityValues) string { return v.p.TenantUID },
}, {
	key: "user_role", field: func(h *IdentityHeaders) *string { return &h.UserRole },
	header: "X-User-Role", placeholder: "http.auth.user.role",
	value: func(v *identityValues) string { return string(v.p.Role) },
}, {
	key: "auth_method", field: func(h *IdentityHeaders) *string { return &h.AuthMethod },
	header: "X-Auth-Method", placeholder: "http.auth.user.method",
	value: func(v *identityValues) string { return string(v.p.Method) },
}, {
	key: "api_key_uid", field: func(h *IdentityHeaders) *string { return &h.APIKeyUID },
	header: "X-Api-Key-Uid", placeholder: "http.auth.user.api_key_uid",
	value: func(v *identityValues) string { return v.p.KeyUID },
}, {
	key: "project_uid", field: func(h *IdentityHeaders) *string { return &h.ProjectUID },
	header: projectUIDHeader, placeholder: "http.auth.user.project_uid",
	value: func(v *identityValues) string { return v.projectUID },
}, {
	key: "tenant_roles", field: func(h *IdentityHeaders) *string { return &h.TenantRoles },
	header: "X-User-Tenant-Roles", placeholder: "http.auth.user.tenant_roles",
	value: func(v *identityValues) string { return v.tenantRoles },
}, {
	key: "project_roles", field: func(h *IdentityHeaders) *string { return &h.ProjectRoles },
	header: "X-User-Project-Roles", placeholder: "http.auth.user.project_roles",
	value: func(v *identityValues) string { return v.projectRoles },
}}

// identityHeaders is IdentityHeaders with defaults applied, plus the list of names to
// strip from incoming requests.
type identityHeaders struct {
	// names holds the configured names, or the defaults, in identityTable's order.
	names [len(identityTable)]string
	// canonical holds the same in canonical form, as set uses them.
	canonical [len(identityTable)]string
	// forged holds every name a client might use to smuggle identity, lower-cased with
	// '_' and '.' folded to '-'.
	forged []string
	// forgedLengths has bit n set when a forged name is n bytes long (n < 64): most of a
	// request's headers are told apart by their length alone.
	forgedLengths uint64
}

func newIdentityHeaders(cfg *IdentityHeaders) identityHeaders {
	if cfg == nil {
		cfg = new(IdentityHeaders)
	}
	var h identityHeaders
	for i, ih := range identityTable {
		if h.names[i] = *ih.field(cfg); h.names[i] == "" {
			h.names[i] = ih.header
		}
		h.canonical[i] = http.CanonicalHeaderKey(h.names[i])
	}
	// The client's ProjectUid, and its spelling with a separator, are inputs we check,
	// never identity we pass on unchecked.
	forged := append(h.names[:], "project-uid")
	for _, ih := range identityTable {
		forged = append(forged, ih.header)
	}
	for _, name := range forged {
		if folded := foldHeaderName(name); !slices.Contains(h.forged, folded) {
			h.forged = append(h.forged, folded)
			if len(folded) < 64 {
				h.forgedLengths |= 1 << len(folded)
			}
		}
	}
	return h
}

func (h identityHeaders) validate() error {
	for _, name := range h.names {
		if !validHeaderName(name) {
			return fmt.Errorf("keygate: %q is not a valid header name", name)
		}
	}
	return nil
}

// identityKey finds the identity header a Caddyfile's headers block names.
func identityKey(key string) (identityHeader, bool) {
	for _, ih := range identityTable {
		if ih.key == key {
			return ih, true
		}
	}
	return identityHeader{}, false
}

// identityKeys lists the keys for a message: "a, b or c".
func identityKeys() string {
	keys := make([]string, len(identityTable))
	for i, ih := range identityTable {
		keys[i] = ih.key
	}
	return alternatives(keys)
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
	if len(name) < 64 && h.forgedLengths&(1<<len(name)) == 0 {
		return false
	}
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
func (h identityHeaders) set(r *http.Request, v *identityValues) {
	vals := make([]string, len(identityTable))
	header := r.Header
	for i := range identityTable {
		if vals[i] = identityTable[i].value(v); vals[i] != "" {
			header[h.canonical[i]] = vals[i : i+1 : i+1]
		}
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Map(identityPlaceholders{v}.lookup)
	}
}

// identityPlaceholders serves {http.auth.user.*} for the authenticated principal.
type identityPlaceholders struct{ v *identityValues }

func (ip identityPlaceholders) lookup(key string) (any, bool) {
	for i := range identityTable {
		if identityTable[i].placeholder == key {
			return identityTable[i].value(ip.v), true
		}
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
