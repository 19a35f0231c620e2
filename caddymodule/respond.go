package caddymodule

import (
	"encoding/json"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/keygate/keygate/authcore"
)

// errorBody is the wire contract's error shape.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}

// writeError answers with e as JSON. Authentication failures are answered here rather
// than returned as caddyhttp.Error: Palette clients parse the body, which Caddy's default
// error handling would leave empty. The ref is Caddy's request id, so an operator can
// find the request in the logs.
func writeError(w http.ResponseWriter, r *http.Request, e *authcore.Error) {
	body := errorBody{Code: e.Code, Message: e.Message}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		body.Ref, _ = repl.GetString("http.request.uuid")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `ApiKey realm="keygate"`)
	}
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(body)
}
