package caddymodule

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler authenticates every request with a Palette-style credential and passes the
// resolved identity to the next handler in headers and placeholders. Identity headers
// sent by the client are always removed first, so upstreams can trust them.
type Handler struct {
	// Headers names the request headers that carry the identity upstream. Default: see
	// IdentityHeaders.
	Headers *IdentityHeaders `json:"headers,omitempty"`

	// ForwardCredentials passes the client's ApiKey header or query parameter upstream.
	// Default: false (the credential is removed before the request goes on).
	ForwardCredentials bool `json:"forward_credentials,omitempty"`

	auth     *authcore.Authenticator
	identity identityHeaders
	logger   *zap.Logger
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
	h.auth = appIface.(*App).state.auth
	h.identity = newIdentityHeaders(h.Headers)
	return nil
}

// Validate checks the header names.
func (h *Handler) Validate() error { return h.identity.validate() }

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	projectUID := r.Header.Get(projectUIDHeader)
	h.identity.strip(r.Header)
	key := takeAPIKey(r, !h.ForwardCredentials)

	p, err := h.auth.AuthenticateAPIKey(r.Context(), key)
	if err != nil {
		return h.reject(w, r, err)
	}
	if projectUID != "" {
		if err := h.auth.AuthorizeProject(r.Context(), p, projectUID); err != nil {
			return h.reject(w, r, err)
		}
	}
	h.identity.set(r, p, projectUID)
	return next.ServeHTTP(w, r)
}

// reject answers a failed authentication with the JSON error of the wire contract.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, err error) error {
	e := authcore.AsError(err)
	if e.Status >= http.StatusInternalServerError {
		h.logger.Warn("credential store unavailable", zap.String("code", e.Code))
	}
	writeError(w, r, e)
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
