package caddymodule

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/sessions"
)

// maxBodyBytes bounds the JSON bodies the endpoints read.
const maxBodyBytes = 64 << 10

// loginRequest is the body of POST /v1/auth/authenticate.
type loginRequest struct {
	EmailID  string `json:"emailId"`
	Password string `json:"password"`
	Org      string `json:"org"`
}

// tokenResponse is the answer to a login or refresh, as Palette sends it.
type tokenResponse struct {
	Authorization string `json:"Authorization"`
	IsMfa         bool   `json:"isMfa"`
}

func (h *Handler) serveAuthenticate(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	ip := clientIP(r)
	var issued sessions.Issued
	var err error
	if key := takeAPIKey(r, true); key != "" {
		issued, err = h.issuer.LoginWithAPIKey(r.Context(), key, ip)
	} else {
		var body loginRequest
		if err = decodeJSON(r, &body); err == nil {
			issued, err = h.issuer.Login(r.Context(), sessions.Login{Email: body.EmailID, Password: body.Password, Org: body.Org, ClientIP: ip, Device: presentedDevice(r)})
		}
	}
	h.logLogin(r, issued, err)
	if err != nil {
		return err
	}
	if issued.Device != nil {
		h.setDeviceCookie(w, issued.Device)
	}
	return h.writeToken(w, r, issued)
}

// presentedDevice is the device cookie the client sent, if any.
func presentedDevice(r *http.Request) string {
	if c, err := r.Cookie(deviceCookie); err == nil {
		return c.Value
	}
	return ""
}

// serveRefresh renews the token in the path.
func (h *Handler) serveRefresh(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	ip := clientIP(r)
	if err := h.issuer.CheckClient(ip); err != nil {
		return err
	}
	issued, err := h.refresh(r, ip, r.PathValue("token"))
	if err != nil {
		return err
	}
	return h.writeToken(w, r, issued)
}

// refresh renews token for the client at ip; a refused token counts towards blocking it.
func (h *Handler) refresh(r *http.Request, ip, token string) (sessions.Issued, error) {
	issued, err := h.issuer.Refresh(r.Context(), token, ip)
	if err != nil {
		h.issuer.ClientRejected(ip, err)
	}
	return issued, err
}

// cookieRefreshed is the answer to POST {auth_prefix}refresh. The new token is only in
// the cookie: a page's script never holds it, so an injected script could not take it away.
type cookieRefreshed struct {
	ExpiresAt string `json:"expiresAt"`
}

// serveCookieRefresh renews the token cookie from the cookie itself. It is the refresh
// for browsers: a page cannot read an HttpOnly cookie to put its token in the GET path,
// and a token does not belong in a URL anyway. Like every state-changing cookie request
// it needs the X-Requested-With header.
func (h *Handler) serveCookieRefresh(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	ip := clientIP(r)
	if err := h.issuer.CheckClient(ip); err != nil {
		return err
	}
	c, err := r.Cookie(tokenCookie)
	switch {
	case err != nil || c.Value == "":
		return authcore.ErrCredentialMissing
	case r.Header.Get(csrfHeader) == "":
		return errCSRF
	}
	issued, err := h.refresh(r, ip, c.Value)
	if err != nil {
		return err
	}
	setTokenCookie(w, issued)
	return writeJSON(w, http.StatusOK, cookieRefreshed{ExpiresAt: timeString(issued.ExpiresAt)})
}

// revokeRequest is the body of POST /v1/users/auth/tokens/revoke.
type revokeRequest struct {
	Tokens []string `json:"tokens"`
}

func (h *Handler) serveRevoke(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body revokeRequest
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := h.issuer.RevokeTokens(r.Context(), a.Principal, a.IP, body.Tokens); err != nil {
		return err
	}
	h.logger.Info("tokens revoked", zap.String("user_uid", a.UserUID), zap.Int("count", max(len(body.Tokens), 1)))
	if len(body.Tokens) == 0 { // a logout: the browser forgets its cookie too
		clearTokenCookie(w)
	}
	return noContent(w)
}

func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	info, err := h.issuer.Info(r.Context(), a.Principal)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// writeToken answers a login or refresh, also as a cookie when ?setCookie=true.
func (h *Handler) writeToken(w http.ResponseWriter, r *http.Request, issued sessions.Issued) error {
	if set, _ := strconv.ParseBool(r.URL.Query().Get("setCookie")); set {
		setTokenCookie(w, issued)
	}
	return writeJSON(w, http.StatusOK, tokenResponse{Authorization: issued.Token})
}

func (h *Handler) logLogin(r *http.Request, issued sessions.Issued, err error) {
	if err == nil {
		h.logger.Info("login", zap.String("user_uid", issued.Principal.UserUID), zap.String("tenant_uid", issued.Principal.TenantUID))
		return
	}
	e := authcore.AsError(err)
	lvl := zap.DebugLevel
	if e.Status == http.StatusTooManyRequests || e.Status >= 500 && e.Code != "LoginBusy" { // LoginBusy: once a minute, by the observer
		lvl = zap.WarnLevel
	}
	if c := h.logger.Check(lvl, "login refused"); c != nil {
		c.Write(zap.String("result", e.Code), zap.String("client_ip", clientIP(r)))
	}
}

// decodeJSON reads a bounded JSON body into v; bad JSON is a 400 saying what is wrong.
// The body must be declared application/json: a cross-site HTML form cannot send that
// type, so a login or revocation cannot be forged from another site.
func decodeJSON(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &authcore.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "the request body must be JSON, sent with Content-Type: application/json"}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return &authcore.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "the request body is empty; JSON was expected"}
		case errors.As(err, &typeErr):
			return &authcore.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "field " + typeErr.Field + " has the wrong type"}
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return &authcore.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "the request body is not valid JSON"}
		}
		return &authcore.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "the request body could not be read"}
	}
	return nil
}

// clientIP is the client's address as Caddy determined it (honouring trusted_proxies).
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		return ip
	}
	return r.RemoteAddr
}
