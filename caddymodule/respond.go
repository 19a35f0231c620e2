package caddymodule

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/sessions"
)

// This file holds every way the handler answers a request itself: JSON, no content,
// the wire contract's errors, and the token cookie.

// writeJSON answers with v as JSON, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// noContent answers 204.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// noContentUnless answers 204 unless err, which it returns to be answered.
func noContentUnless(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	return noContent(w)
}

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

// refuse answers a request the gate refused, in front of the upstream: like reject, but
// a site's handle_errors routes may replace the answer (errorroutes.go). The headers
// set here (Retry-After, WWW-Authenticate, Connection) stay on either answer.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) error {
	e := authcore.AsError(err)
	h.logRefusal(w, r, e)
	closeAfterRefusal(w, r)
	if handed := refusalForErrorRoutes(r, e); handed != nil {
		if e.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `ApiKey realm="keygate"`)
		}
		return handed
	}
	writeError(w, r, e)
	return nil
}

// reject answers a failed request with the JSON error of the wire contract. Keygate's
// own endpoints always answer this way: their errors are part of the API.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, err error) error {
	e := authcore.AsError(err)
	h.logRefusal(w, r, e)
	if e.Code != "LoginBusy" { // refused after its JSON body was read: keep the connection
		closeAfterRefusal(w, r)
	}
	writeError(w, r, e)
	return nil
}

// logRefusal logs what an operator must know of a refusal, and sets Retry-After when the
// refusal says when to come back.
func (h *Handler) logRefusal(w http.ResponseWriter, r *http.Request, e *authcore.Error) {
	switch {
	case e.Code == "StoreUnavailable":
		h.logger.Warn("credential store unavailable", zap.String("code", e.Code), zap.String("error", e.Detail()))
	case e.Code == "LoginBusy": // logged once a minute, by the observer
	case e.Status >= http.StatusInternalServerError:
		h.logger.Warn("request refused", zap.String("code", e.Code), zap.String("error", e.Detail()))
	case e.Status == http.StatusTooManyRequests:
		if c := h.logger.Check(zap.WarnLevel, "client throttled"); c != nil {
			c.Write(zap.String("client_ip", clientIP(r)))
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())+1))
	}
}

// closeAfterRefusal closes an HTTP/1 connection after refusing a request that may have
// a body still to come. Go's server reads such a body after the handler, before it sends
// the answer, to keep the connection for the next request. It would know not to if the
// client waits for "100 Continue", but Caddy wraps r.Body, which hides that: the client
// then waits for the answer and the server for the body, and a client that never sends
// the body never gets an answer. (An HTTP/2 stream ends on its own, and there a
// Connection header would close every other stream of the connection too.)
func closeAfterRefusal(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}

// tokenCookie is the cookie that carries a token when a login asks for setCookie.
const tokenCookie = "Authorization"

// setTokenCookie sets the token as the Authorization cookie: HttpOnly so no script can
// read it, SameSite=Strict so no other site's page sends it, living as long as the token.
func setTokenCookie(w http.ResponseWriter, issued sessions.Issued) {
	http.SetCookie(w, &http.Cookie{
		Name: tokenCookie, Value: issued.Token, Path: "/",
		Expires: issued.ExpiresAt, MaxAge: int(time.Until(issued.ExpiresAt).Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// deviceCookie is the cookie that marks a browser that has logged in to an account
// before (sessions.DeviceCookie): it lets that browser past the account's lockout and
// the flood. Only the login endpoint reads it, hence its path.
const deviceCookie = "keygate_device"

// setDeviceCookie hands the browser its device cookie: HttpOnly, Secure and
// SameSite=Strict like the token cookie, for the auth prefix only.
func (h *Handler) setDeviceCookie(w http.ResponseWriter, c *sessions.DeviceCookie) {
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: c.Value, Path: h.authPrefix,
		Expires: c.ExpiresAt, MaxAge: int(time.Until(c.ExpiresAt).Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// clearTokenCookie tells the browser to forget the Authorization cookie.
func clearTokenCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}
