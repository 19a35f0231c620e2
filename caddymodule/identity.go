package caddymodule

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/keygate/keygate/authcore"
)

// projectUIDHeader selects the project a request acts in, as Palette clients send it.
const projectUIDHeader = "ProjectUid"

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
}

func newIdentityHeaders(cfg *IdentityHeaders) identityHeaders {
	var h identityHeaders
	if cfg != nil {
		h.IdentityHeaders = *cfg
	}
	for _, f := range []struct {
		field *string
		def   string
	}{
		{&h.UserUID, "X-User-Uid"},
		{&h.UserEmail, "X-User-Email"},
		{&h.TenantUID, "X-Tenant-Uid"},
		{&h.UserRole, "X-User-Role"},
		{&h.AuthMethod, "X-Auth-Method"},
		{&h.APIKeyUID, "X-Api-Key-Uid"},
		{&h.ProjectUID, projectUIDHeader},
	} {
		if *f.field == "" {
			*f.field = f.def
		}
		h.forged = append(h.forged, foldHeaderName(*f.field))
	}
	// The client's ProjectUid, and its spelling with a separator, are inputs we check,
	// never identity we pass on unchecked.
	h.forged = append(h.forged, foldHeaderName(projectUIDHeader), "project-uid")
	return h
}

func (h identityHeaders) validate() error {
	for _, name := range h.names() {
		if !validHeaderName(name) {
			return fmt.Errorf("keygate: %q is not a valid header name", name)
		}
	}
	return nil
}

func (h identityHeaders) names() []string {
	return []string{h.UserUID, h.UserEmail, h.TenantUID, h.UserRole, h.AuthMethod, h.APIKeyUID, h.ProjectUID}
}

// strip deletes every identity header the client sent, in any case and with '_' or '.'
// in place of '-' (CGI-style backends treat them alike). Caddy drops such spellings by
// default, but not when a site allowlists them with expected_underscore_headers.
func (h identityHeaders) strip(header http.Header) {
	for name := range header {
		for _, forged := range h.forged {
			if sameFolded(name, forged) {
				delete(header, name)
				break
			}
		}
	}
}

// set passes p on in the identity headers and in placeholders for other directives.
func (h identityHeaders) set(r *http.Request, p *authcore.Principal, projectUID string) {
	header := r.Header
	header.Set(h.UserUID, p.UserUID)
	header.Set(h.UserEmail, p.Email)
	header.Set(h.TenantUID, p.TenantUID)
	header.Set(h.UserRole, string(p.Role))
	header.Set(h.AuthMethod, string(p.Method))
	if p.KeyUID != "" {
		header.Set(h.APIKeyUID, p.KeyUID)
	}
	if projectUID != "" {
		header.Set(h.ProjectUID, projectUID)
	}
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	repl.Set("http.auth.user.id", p.UserUID)
	repl.Set("http.auth.user.email", p.Email)
	repl.Set("http.auth.user.tenant_uid", p.TenantUID)
	repl.Set("http.auth.user.role", string(p.Role))
	repl.Set("http.auth.user.method", string(p.Method))
	repl.Set("http.auth.user.api_key_uid", p.KeyUID)
	repl.Set("http.auth.user.project_uid", projectUID)
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
