package caddymodule

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/authcore/sessions"
	"github.com/keygate/keygate/authcore/sso"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler authenticates every request with a Palette-style credential (an API key or an
// Authorization token) and passes the resolved identity to the next handler in headers
// and placeholders. Identity headers sent by the client are always removed first, so
// upstreams can trust them. It also serves Keygate's own endpoints (login, refresh,
// token revocation, user info, the management API) and the web console.
type Handler struct {
	// Headers names the request headers that carry the identity upstream. Default: see
	// IdentityHeaders.
	Headers *IdentityHeaders `json:"headers,omitempty"`

	// ForwardCredentials passes the client's credential (the ApiKey header or query
	// parameter, the Authorization header or cookie) upstream. Default: false: the
	// credential is removed before the request goes on.
	ForwardCredentials bool `json:"forward_credentials,omitempty"`

	// Endpoints is "off" to serve none of Keygate's own endpoints on this site, only
	// authenticate and proxy. Default: "" (served).
	Endpoints string `json:"endpoints,omitempty"`

	// AuthPrefix is where the login and refresh endpoints live:
	// POST {auth_prefix}authenticate, GET {auth_prefix}refresh/{token}.
	// Default: /v1/auth/.
	AuthPrefix string `json:"auth_prefix,omitempty"`

	// APIPrefix is where the other endpoints live: POST {api_prefix}users/auth/tokens/revoke,
	// GET {api_prefix}users/info, the management API ({api_prefix}apiKeys, users,
	// projects, dashboard/projects/metadata, audit) and their OpenAPI document,
	// GET {api_prefix}openapi.json. Default: /v1/.
	APIPrefix string `json:"api_prefix,omitempty"`

	// SCIMPrefix is where SCIM 2.0 provisioning (RFC 7644) lives: {scim_prefix}Users,
	// Groups and the discovery endpoints, authenticated by a tenant's SCIM token (made
	// with POST {api_prefix}tenants/{tenantUid}/scim/token). It is the base URL to give an
	// identity provider. Default: /scim/v2/.
	SCIMPrefix string `json:"scim_prefix,omitempty"`

	// Console is "off" to not serve the web console. Default: "" (served, unless
	// endpoints are off: the console is a client of them).
	Console string `json:"console,omitempty"`

	// ConsolePrefix is where the web console is served. Default: /console/.
	ConsolePrefix string `json:"console_prefix,omitempty"`

	// Require lists permissions (such as cluster.get) that every proxied request needs:
	// the caller's effective roles (tenant roles, and project roles in the project
	// named by ProjectUid) must grant each of them, else 403 PermissionDenied. Keygate's
	// own endpoints apply their own policy instead. Default: none.
	Require []string `json:"require,omitempty"`

	verifier   *credentials.Verifier
	issuer     *sessions.Issuer
	service    *manage.Service
	sso        *sso.RelyingParty
	metrics    *metrics
	identity   identityHeaders
	authPrefix string
	apiPrefix  string
	prefixes   prefixPaths // by routePrefix: authPrefix, apiPrefix and the SCIM prefix
	openapi    openapiDocument
	console    http.Handler // nil when the console is off
	// consolePrefix is the console's path; consoleBase is the same without the final slash.
	consolePrefix, consoleBase string
	logger                     *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.keygate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision joins the keygate app's shared state.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	appIface, err := ctx.App("keygate")
	if err != nil {
		return fmt.Errorf("keygate handler: %w", err)
	}
	app := appIface.(*App)
	h.verifier, h.issuer, h.service, h.metrics = app.verifier(), app.issuer(), app.service(), keygateMetrics()
	h.sso = app.relyingParty()
	h.identity = newIdentityHeaders(h.Headers)
	h.authPrefix = withSlashes(h.AuthPrefix, "/v1/auth/")
	h.apiPrefix = withSlashes(h.APIPrefix, "/v1/")
	h.prefixes = prefixPaths{underAuth: h.authPrefix, underAPI: h.apiPrefix, underSCIM: withSlashes(h.SCIMPrefix, "/scim/v2/")}
	for _, p := range h.prefixes {
		// Prefixes are compared with the escaped path, which never holds these; and a
		// prefix that is not clean could only start paths the management API refuses.
		if strings.ContainsAny(p, "{} \t\n?#") || path.Clean(p)+"/" != p {
			return fmt.Errorf("keygate: prefix %q must be a clean path without braces, spaces, ? or #", p)
		}
	}
	if h.openapi, err = newOpenAPIDocument(h.prefixes); err != nil {
		return err
	}
	return h.provisionConsole()
}

// withSlashes returns p (or def) starting and ending with "/".
func withSlashes(p, def string) string {
	if p == "" {
		p = def
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// Validate checks the header names and options.
func (h *Handler) Validate() error {
	if h.Endpoints != "" && h.Endpoints != "off" {
		return fmt.Errorf("keygate: endpoints must be \"off\" or unset, not %q", h.Endpoints)
	}
	if err := h.validateConsole(); err != nil {
		return err
	}
	for _, perm := range h.Require {
		if err := authcore.CheckPermission(perm); err != nil {
			return fmt.Errorf("keygate: require: %w", err)
		}
	}

	return h.identity.validate()
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	var projectUID string
	if v := r.Header[projectUIDCanonical]; len(v) > 0 {
		projectUID = v[0]
	}
	h.identity.strip(r.Header)
	if h.servesConsole(r) {
		h.console.ServeHTTP(w, r)
		return nil
	}
	if rt := h.route(r); rt != nil {
		return h.serveRoute(w, r, rt)
	}

	start := time.Now()
	p, method, err := h.authenticateMethod(r)
	var ids *identityValues
	if err == nil {
		ids, err = h.authorize(r, p, projectUID)
	}
	result := authResult(err)
	h.metrics.observeAuth(method, result, time.Since(start))
	if c := h.logger.Check(zap.DebugLevel, "auth decision"); c != nil {
		c.Write(decisionFields(p, method, result)...)
	}
	if err != nil {
		return h.refuse(w, r, err)
	}
	h.identity.set(r, ids)
	h.guardTrailers(r)
	return next.ServeHTTP(w, r)
}

// authorize checks the ProjectUid project, if one was named, resolves the principal's
// effective roles and checks the permissions the route requires.
func (h *Handler) authorize(r *http.Request, p *authcore.Principal, projectUID string) (*identityValues, error) {
	var projectRoles []string
	if projectUID != "" {
		var err error
		if projectRoles, err = h.verifier.ProjectRoles(r.Context(), p, projectUID); err != nil {
			return nil, err
		}
	}
	g, err := h.verifier.ResolveRoles(r.Context(), p, projectRoles)
	if err != nil {
		return nil, err
	}
	for _, perm := range h.Require {
		if !g.Has(perm) {
			return nil, authcore.PermissionDenied(perm)
		}
	}
	return &identityValues{
		p: p, projectUID: projectUID,
		tenantRoles: strings.Join(g.TenantRoleNames, ","), projectRoles: strings.Join(g.ProjectRoleNames, ","),
	}, nil
}

// decisionFields describe a decision for the log: uids and codes, never a credential.
func decisionFields(p *authcore.Principal, method, result string) []zap.Field {
	f := []zap.Field{zap.String("method", method), zap.String("result", result)}
	if p != nil {
		f = append(f, zap.String("user_uid", p.UserUID), zap.String("tenant_uid", p.TenantUID), zap.String("key_uid", p.KeyUID))
	}
	return f
}

// authenticate resolves the request's credential: an API key if one is presented, else
// an Authorization token (header or cookie). Clients blocked for repeated failures get
// 429 without any check; each rejected credential counts towards that.
func (h *Handler) authenticate(r *http.Request) (*authcore.Principal, error) {
	p, _, err := h.authenticateMethod(r)
	return p, err
}

// authenticateMethod is authenticate, also naming the kind of credential presented:
// "apikey", "token" or "none".
func (h *Handler) authenticateMethod(r *http.Request) (p *authcore.Principal, method string, err error) {
	ip := clientIP(r)
	if err := h.issuer.CheckClient(ip); err != nil {
		return nil, "none", err
	}
	remove := !h.ForwardCredentials
	key := takeAPIKey(r, remove)
	token, fromCookie := takeToken(r, remove) // taken even when a key is used: to strip it
	switch {
	case key != "":
		method = "apikey"
		p, err = h.verifier.AuthenticateAPIKey(r.Context(), key)
	case fromCookie && !safeMethod(r.Method) && r.Header.Get(csrfHeader) == "":
		return nil, "token", errCSRF
	case token != "":
		method = "token"
		p, err = h.verifier.AuthenticateToken(r.Context(), token)
	default:
		return nil, "none", authcore.ErrCredentialMissing
	}
	if err != nil {
		h.issuer.ClientRejected(ip, err)
	}
	return p, method, err
}

// csrfHeader must accompany a state-changing request authenticated by the cookie: a
// cross-site form cannot set a custom header, and a cross-site script cannot without a
// CORS preflight that the gateway never grants.
const csrfHeader = "X-Requested-With"

var errCSRF = &authcore.Error{Status: http.StatusForbidden, Code: "CsrfHeaderMissing",
	Message: "a request that changes state and is authenticated by cookie must carry an X-Requested-With header"}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
