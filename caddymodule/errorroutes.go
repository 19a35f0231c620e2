package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/keygate/keygate/authcore"
)

// This file hands the gate's refusals to a site's handle_errors routes, Caddy's way of
// replacing error answers, when one of those routes wants them. Without such a route
// the refusal stays Palette's JSON error: Caddy would answer an unhandled error with an
// empty body, which Palette clients cannot parse.

// Placeholders set on every refusal, for handle_errors routes and logs. Caddy's own
// {http.error.status_code} and {http.error.message} are set too when the refusal is
// handed on.
const (
	placeholderErrorCode    = "keygate.error.code"
	placeholderErrorMessage = "keygate.error.message"
)

// refusalForErrorRoutes returns the refusal e as a Caddy handler error when a
// handle_errors route of r's server would take it, else nil. It sets the placeholders
// those routes match on first: the Caddyfile's `handle_errors 401` is an expression on
// {http.error.status_code}.
func refusalForErrorRoutes(r *http.Request, e *authcore.Error) error {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil || srv.Errors == nil || len(srv.Errors.Routes) == 0 {
		return nil
	}
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return nil
	}
	repl.Set(placeholderErrorCode, e.Code)
	repl.Set(placeholderErrorMessage, e.Message)
	handed := caddyhttp.Error(e.Status, e)
	if routesTake(srv.Errors.Routes, srv.Errors.WithError(r, handed)) {
		return handed
	}
	return nil
}

// routesTake reports whether routes would do something with r: a route whose matchers
// match r and that holds a handler other than a subroute, or a subroute whose own routes
// take r. (The Caddyfile's `handle_errors 401` is a route for the site's host around a
// subroute whose route matches the status.) A matching terminal route ends the search.
func routesTake(routes caddyhttp.RouteList, r *http.Request) bool {
	for _, route := range routes {
		if matched, err := route.MatcherSets.AnyMatchWithError(r); !matched || err != nil {
			continue
		}
		for _, handler := range route.Handlers {
			sub, ok := handler.(*caddyhttp.Subroute)
			if !ok || routesTake(sub.Routes, r) {
				return true
			}
		}
		if route.Terminal {
			return false
		}
	}
	return false
}
