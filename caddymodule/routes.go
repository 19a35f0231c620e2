package caddymodule

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/keygate/keygate/authcore"
)

// endpoint serves one of Keygate's own routes. a is the authenticated caller when the
// route needs a credential, else zero. An error is answered in the wire contract.
type endpoint func(h *Handler, w http.ResponseWriter, r *http.Request, a authcore.Actor) error

// route is one of Keygate's own routes.
type route struct {
	method string
	under  routePrefix
	// path is the path below the prefix: literal segments, {name} for one segment and
	// {name...}, last, for the rest; the handler reads the values with r.PathValue.
	path       string
	match      pathMatch
	serve      endpoint
	credential bool // authenticate the caller before serve
	// scim: authenticate the caller by a tenant's SCIM token before serve, and answer
	// errors in SCIM's shape (RFC 7644). Every route under the SCIM prefix has it.
	scim     bool
	segments []string
	// uidsOnly: the route's wildcards match only uids of Keygate's shape, because Palette
	// serves other names at the same place (GET /v1/projects/alerts, /v1/users/assets/...)
	// that must reach the upstream rather than Keygate's 404.
	uidsOnly bool
}

// routePrefix says which of the handler's prefixes a route lives under.
type routePrefix uint8

const (
	underAuth routePrefix = iota // auth_prefix, default /v1/auth/
	underAPI                     // api_prefix, default /v1/
	underSCIM                    // scim_prefix, default /scim/v2/
	numPrefixes
)

// prefixPaths are the handler's prefixes, by routePrefix.
type prefixPaths [numPrefixes]string

// pathMatch is how a route's path is compared with the request's.
type pathMatch uint8

const (
	// asSent compares the escaped path byte for byte, so "%2F" or "%72efresh" never
	// reach an endpoint whose path a log filter must recognise; {name...} is the rest as
	// sent, possibly empty. The method must be the route's.
	asSent pathMatch = iota
	// asCleaned is how the management API has always been routed (by http.ServeMux
	// once): only a clean path is served, since ServeMux would have answered "//" or
	// "/./" with a redirect repeating the query, credential and all, before anyone was
	// authenticated. The first segment is compared as sent, later ones unescaped; {name}
	// is one non-empty segment, unescaped. A GET route answers HEAD too.
	asCleaned
)

// routes are all of Keygate's own routes, first match first: a route listed earlier wins
// over a later one that matches the same request (users/me over users/{uid}). Only these
// exact method and path pairs are Keygate's; every other request goes on to the upstream.
var routes = [...]route{
	// The login, refresh, revocation and user info endpoints of Palette's contract.
	{method: "POST", under: underAuth, path: "authenticate", serve: (*Handler).serveAuthenticate},
	{method: "GET", under: underAuth, path: "refresh/{token...}", serve: (*Handler).serveRefresh},
	{method: "POST", under: underAuth, path: "refresh", serve: (*Handler).serveCookieRefresh},
	{method: "POST", under: underAPI, path: "users/auth/tokens/revoke", serve: (*Handler).serveRevoke, credential: true},
	{method: "GET", under: underAPI, path: "users/info", serve: (*Handler).serveInfo, credential: true},

	// Organisation discovery and the password requests made without a credential.
	{method: "GET", under: underAuth, path: "org", serve: (*Handler).serveOrg},
	{method: "GET", under: underAuth, path: "orgs", serve: (*Handler).serveOrgs}, // a credential, if any, is checked there
	// Single sign-on: Keygate's start of the flow, then Palette's callback and logout.
	{method: "GET", under: underAuth, path: "org/{org}/oidc/login", serve: (*Handler).startSSO},
	{method: "GET", under: underAuth, path: "org/{org}/oidc/callback", serve: (*Handler).ssoCallback},
	{method: "GET", under: underAuth, path: "org/{org}/oidc/logout", serve: (*Handler).ssoLogout}, // a credential, if any, is checked there
	{method: "POST", under: underAuth, path: "user/password/reset", serve: (*Handler).requestPasswordReset},
	{method: "PATCH", under: underAuth, path: "password/{passwordToken}/activate", serve: (*Handler).activatePassword},
	{method: "PATCH", under: underAPI, path: "users/password/change", match: asCleaned, serve: (*Handler).changePasswordByEmail},

	// The management API.
	{method: "POST", under: underAPI, path: "apiKeys", match: asCleaned, serve: (*Handler).createKey, credential: true},
	{method: "GET", under: underAPI, path: "apiKeys", match: asCleaned, serve: (*Handler).listKeys, credential: true},
	{method: "GET", under: underAPI, path: "apiKeys/{uid}", match: asCleaned, serve: (*Handler).getKey, credential: true},
	{method: "PUT", under: underAPI, path: "apiKeys/{uid}", match: asCleaned, serve: (*Handler).updateKey, credential: true},
	{method: "PATCH", under: underAPI, path: "apiKeys/{uid}", match: asCleaned, serve: (*Handler).setKeyState, credential: true},
	{method: "PUT", under: underAPI, path: "apiKeys/{uid}/state", match: asCleaned, serve: (*Handler).setKeyState, credential: true},
	{method: "DELETE", under: underAPI, path: "apiKeys/{uid}", match: asCleaned, serve: (*Handler).deleteKey, credential: true},
	{method: "POST", under: underAPI, path: "apiKeys/{uid}/roll", match: asCleaned, serve: (*Handler).rollKey, credential: true},
	{method: "POST", under: underAPI, path: "users", match: asCleaned, serve: (*Handler).createUser, credential: true},
	{method: "GET", under: underAPI, path: "users", match: asCleaned, serve: (*Handler).listUsers, credential: true},
	{method: "GET", under: underAPI, path: "users/me", match: asCleaned, serve: (*Handler).getMe, credential: true},
	// Users: Palette's literal paths before users/{uid}.
	{method: "GET", under: underAPI, path: "users/meta", match: asCleaned, serve: (*Handler).usersMeta, credential: true},
	{method: "POST", under: underAPI, path: "users/summary", match: asCleaned, serve: (*Handler).usersSummary, credential: true},
	{method: "PUT", under: underAPI, path: "users/{uid}", match: asCleaned, serve: (*Handler).putUser, credential: true},
	{method: "GET", under: underAPI, path: "users/{uid}", match: asCleaned, serve: (*Handler).getUser, credential: true},
	{method: "GET", under: underAPI, path: "users/{uid}/roles", match: asCleaned, serve: (*Handler).getUserRoles, credential: true},
	{method: "PUT", under: underAPI, path: "users/{uid}/roles", match: asCleaned, serve: (*Handler).putUserRoles, credential: true},
	{method: "GET", under: underAPI, path: "users/{uid}/projects", match: asCleaned, serve: (*Handler).getUserProjects, credential: true},
	{method: "PUT", under: underAPI, path: "users/{uid}/projects", match: asCleaned, serve: (*Handler).putUserProjects, credential: true},
	{method: "GET", under: underAPI, path: "roles", match: asCleaned, serve: (*Handler).listRoles, credential: true},
	{method: "POST", under: underAPI, path: "roles", match: asCleaned, serve: (*Handler).createRole, credential: true},
	{method: "PATCH", under: underAPI, path: "users/{uid}", match: asCleaned, serve: (*Handler).updateUser, credential: true},
	{method: "DELETE", under: underAPI, path: "users/{uid}", match: asCleaned, serve: (*Handler).deleteUser, credential: true},
	{method: "PATCH", under: underAPI, path: "users/{uid}/password/change", match: asCleaned, serve: (*Handler).changeOwnPassword, credential: true},
	{method: "PATCH", under: underAPI, path: "users/{uid}/password/reset", match: asCleaned, serve: (*Handler).startPasswordReset, credential: true},
	{method: "GET", under: underAPI, path: "tenants/{tenantUid}/authTokenSettings", match: asCleaned, serve: (*Handler).getTokenSettings, credential: true},
	{method: "PUT", under: underAPI, path: "tenants/{tenantUid}/authTokenSettings", match: asCleaned, serve: (*Handler).setTokenSettings, credential: true},
	{method: "GET", under: underAPI, path: "tenants/{tenantUid}/oidc/config", match: asCleaned, serve: (*Handler).getOIDCConfig, credential: true},
	{method: "POST", under: underAPI, path: "tenants/{tenantUid}/oidc/config", match: asCleaned, serve: (*Handler).postOIDCConfig, credential: true},
	// Teams (Palette's /v1/teams).
	{method: "GET", under: underAPI, path: "teams", match: asCleaned, serve: (*Handler).listTeams, credential: true},
	{method: "POST", under: underAPI, path: "teams", match: asCleaned, serve: (*Handler).createTeam, credential: true},
	{method: "GET", under: underAPI, path: "teams/{uid}", match: asCleaned, serve: (*Handler).getTeam, credential: true},
	{method: "PUT", under: underAPI, path: "teams/{uid}", match: asCleaned, serve: (*Handler).putTeam, credential: true},
	{method: "PATCH", under: underAPI, path: "teams/{uid}", match: asCleaned, serve: (*Handler).patchTeam, credential: true},
	{method: "DELETE", under: underAPI, path: "teams/{uid}", match: asCleaned, serve: (*Handler).deleteTeam, credential: true},
	{method: "GET", under: underAPI, path: "teams/{uid}/roles", match: asCleaned, serve: (*Handler).getTeamRoles, credential: true},
	{method: "PUT", under: underAPI, path: "teams/{uid}/roles", match: asCleaned, serve: (*Handler).putTeamRoles, credential: true},
	{method: "POST", under: underAPI, path: "projects", match: asCleaned, serve: (*Handler).createProject, credential: true},
	{method: "GET", under: underAPI, path: "projects", match: asCleaned, serve: (*Handler).listProjects, credential: true},
	{method: "GET", under: underAPI, path: "projects/{uid}", match: asCleaned, serve: (*Handler).getProject, credential: true},
	{method: "DELETE", under: underAPI, path: "projects/{uid}", match: asCleaned, serve: (*Handler).deleteProject, credential: true},
	{method: "PUT", under: underAPI, path: "projects/{uid}", match: asCleaned, serve: (*Handler).updateProject, credential: true},
	{method: "PUT", under: underAPI, path: "projects/{uid}/users", match: asCleaned, serve: (*Handler).putProjectUsers, credential: true},
	{method: "PUT", under: underAPI, path: "projects/{uid}/teams", match: asCleaned, serve: (*Handler).putProjectTeams, credential: true},
	{method: "POST", under: underAPI, path: "dashboard/projects", match: asCleaned, serve: (*Handler).filterProjects, credential: true},
	{method: "PUT", under: underAPI, path: "projects/{uid}/members/{userUid}", match: asCleaned, serve: (*Handler).addMember, credential: true},
	{method: "DELETE", under: underAPI, path: "projects/{uid}/members/{userUid}", match: asCleaned, serve: (*Handler).removeMember, credential: true},
	{method: "GET", under: underAPI, path: "dashboard/projects/metadata", match: asCleaned, serve: (*Handler).dashboardProjects, credential: true},
	{method: "GET", under: underAPI, path: "audit", match: asCleaned, serve: (*Handler).listAudit, credential: true},

	// The tenant's SCIM token (Keygate's own), and SCIM 2.0 provisioning (RFC 7644).
	{method: "POST", under: underAPI, path: "tenants/{tenantUid}/scim/token", match: asCleaned, serve: (*Handler).rotateSCIMToken, credential: true},
	{method: "GET", under: underAPI, path: "tenants/{tenantUid}/scim/token", match: asCleaned, serve: (*Handler).getSCIMToken, credential: true},
	{method: "DELETE", under: underAPI, path: "tenants/{tenantUid}/scim/token", match: asCleaned, serve: (*Handler).deleteSCIMToken, credential: true},
	{method: "GET", under: underSCIM, path: "ServiceProviderConfig", match: asCleaned, serve: (*Handler).scimServiceProviderConfig, scim: true},
	{method: "GET", under: underSCIM, path: "ResourceTypes", match: asCleaned, serve: (*Handler).scimResourceTypes, scim: true},
	{method: "GET", under: underSCIM, path: "Schemas", match: asCleaned, serve: (*Handler).scimSchemas, scim: true},
	{method: "GET", under: underSCIM, path: "Users", match: asCleaned, serve: (*Handler).scimListUsers, scim: true},
	{method: "POST", under: underSCIM, path: "Users", match: asCleaned, serve: (*Handler).scimCreateUser, scim: true},
	{method: "GET", under: underSCIM, path: "Users/{id}", match: asCleaned, serve: (*Handler).scimGetUser, scim: true},
	{method: "PUT", under: underSCIM, path: "Users/{id}", match: asCleaned, serve: (*Handler).scimReplaceUser, scim: true},
	{method: "PATCH", under: underSCIM, path: "Users/{id}", match: asCleaned, serve: (*Handler).scimPatchUser, scim: true},
	{method: "DELETE", under: underSCIM, path: "Users/{id}", match: asCleaned, serve: (*Handler).scimDeleteUser, scim: true},
	{method: "GET", under: underSCIM, path: "Groups", match: asCleaned, serve: (*Handler).scimListGroups, scim: true},
	{method: "POST", under: underSCIM, path: "Groups", match: asCleaned, serve: (*Handler).scimCreateGroup, scim: true},
	{method: "GET", under: underSCIM, path: "Groups/{id}", match: asCleaned, serve: (*Handler).scimGetGroup, scim: true},
	{method: "PUT", under: underSCIM, path: "Groups/{id}", match: asCleaned, serve: (*Handler).scimReplaceGroup, scim: true},
	{method: "PATCH", under: underSCIM, path: "Groups/{id}", match: asCleaned, serve: (*Handler).scimPatchGroup, scim: true},
	{method: "DELETE", under: underSCIM, path: "Groups/{id}", match: asCleaned, serve: (*Handler).scimDeleteGroup, scim: true},

	// Webhooks: a tenant's receivers of lifecycle events, and their deliveries (Keygate's own).
	{method: "GET", under: underAPI, path: "webhooks", match: asCleaned, serve: (*Handler).listWebhooks, credential: true},
	{method: "POST", under: underAPI, path: "webhooks", match: asCleaned, serve: (*Handler).createWebhook, credential: true},
	{method: "GET", under: underAPI, path: "webhooks/{uid}", match: asCleaned, serve: (*Handler).getWebhook, credential: true},
	{method: "DELETE", under: underAPI, path: "webhooks/{uid}", match: asCleaned, serve: (*Handler).deleteWebhook, credential: true},
	{method: "GET", under: underAPI, path: "webhooks/{uid}/deliveries", match: asCleaned, serve: (*Handler).listWebhookDeliveries, credential: true},

	// The OpenAPI document of all of these, itself included.
	{method: "GET", under: underAPI, path: "openapi.json", match: asCleaned, serve: (*Handler).serveOpenAPI},
}

// uidOnlyResources are the resources under which a wildcard is a uid Keygate made: a
// name of another shape there is one of Palette's Keygate does not serve. An explicit
// list of Palette's names would go stale with each Palette release; the uid shape does not.
var uidOnlyResources = map[string]bool{"users": true, "projects": true}

func init() {
	for i := range routes {
		routes[i].segments = strings.Split(routes[i].path, "/")
		routes[i].uidsOnly = routes[i].under == underAPI && uidOnlyResources[routes[i].segments[0]]
	}
}

// route returns the route r is for, with its path values set on r, or nil when r is for
// the upstream.
func (h *Handler) route(r *http.Request) *route {
	if h.Endpoints == "off" {
		return nil
	}
	p := r.URL.EscapedPath()
	// The path below each prefix, and its first segment: every route compares that as
	// sent, so a look at it keeps most requests for the upstream off the slower checks.
	var below, first prefixPaths
	var under [numPrefixes]bool
	anyUnder := false
	prefixes := h.prefixes
	prefixes[underAuth], prefixes[underAPI] = h.authPrefix, h.apiPrefix
	for i, prefix := range prefixes {
		if prefix != "" { // unset: a handler without SCIM's (tests)
			below[i], under[i] = strings.CutPrefix(p, prefix)
			anyUnder = anyUnder || under[i]
		}
	}
	if !anyUnder {
		return nil
	}
	for i := range below {
		first[i], _, _ = strings.Cut(below[i], "/")
	}
	for i := range routes {
		rt := &routes[i]
		if !under[rt.under] || first[rt.under] != rt.segments[0] || !rt.allows(r.Method) {
			continue
		}
		if values, ok := rt.matchPath(below[rt.under]); ok && (rt.match == asSent || path.Clean(p) == p) {
			rt.setPathValues(r, values)
			return rt
		}
	}
	return nil
}

// serveRoute serves r on rt, authenticating the caller first when rt needs it.
func (h *Handler) serveRoute(w http.ResponseWriter, r *http.Request, rt *route) error {
	if rt.scim {
		return h.serveSCIM(w, r, rt)
	}
	var a authcore.Actor
	if rt.credential {
		p, err := h.authenticate(r)
		if err != nil {
			return h.reject(w, r, err)
		}
		a = authcore.Actor{Principal: p, IP: clientIP(r)}
	}
	if err := rt.serve(h, w, r, a); err != nil {
		return h.reject(w, r, err)
	}
	return nil
}

func (rt *route) allows(method string) bool {
	return method == rt.method || rt.match == asCleaned && rt.method == http.MethodGet && method == http.MethodHead
}

// maxPathValues is the most wildcards a route's path has.
const maxPathValues = 2

// matchPath compares rest, the escaped path below the route's prefix, with the route's
// path, returning the wildcards' values in order.
func (rt *route) matchPath(rest string) (values [maxPathValues]string, ok bool) {
	n := 0
	for i, want := range rt.segments {
		if i > 0 {
			if rest, ok = strings.CutPrefix(rest, "/"); !ok {
				return values, false
			}
		}
		if strings.HasSuffix(want, "...}") {
			values[n] = rest
			return values, true
		}
		seg := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			seg, rest = rest[:j], rest[j:]
		} else {
			rest = ""
		}
		if rt.match == asCleaned && i > 0 {
			seg = unescapeSegment(seg)
		}
		switch {
		case want[0] != '{':
			if seg != want {
				return values, false
			}
		case seg == "" || seg == "/", rt.uidsOnly && !authcore.IsGeneratedUID(seg):
			return values, false
		default:
			values[n] = seg
			n++
		}
	}
	return values, rest == ""
}

func (rt *route) setPathValues(r *http.Request, values [maxPathValues]string) {
	n := 0
	for _, seg := range rt.segments {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			r.SetPathValue(strings.TrimSuffix(strings.TrimSuffix(name, "}"), "..."), values[n])
			n++
		}
	}
}

// unescapeSegment is a path segment unescaped, or as it is if it is not valid escaping.
func unescapeSegment(seg string) string {
	if u, err := url.PathUnescape(seg); err == nil {
		return u
	}
	return seg
}
