package caddymodule

import (
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/authcore/sessions"
	"github.com/keygate/keygate/authcore/sso"
)

// flowCookie carries a sign-in in progress (sso.Flow, sealed) from its start to the
// callback. SameSite=Lax: the provider's redirect back is a top-level navigation from
// another site, which Strict would strip it from.
const flowCookie = "keygate_oidc"

// ssoPath is the path of the organisation's OIDC endpoint named end (login, callback,
// logout).
func (h *Handler) ssoPath(org, end string) string {
	return h.authPrefix + "org/" + url.PathEscape(org) + "/oidc/" + end
}

// redirectURL is the exact redirect URI of the organisation's callback: the configured
// callbackUrl, else this gateway's own, as the request reached it.
func (h *Handler) redirectURL(r *http.Request, c sso.Config, org string) string {
	if c.CallbackURL != "" {
		return c.CallbackURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + h.ssoPath(org, "callback")
}

// startSSO is GET {auth_prefix}org/{org}/oidc/login (Keygate's own): it sends the
// browser to the organisation's provider, with the flow in a cookie. ?console=true
// makes the callback answer with the console's cookie and a redirect to it.
func (h *Handler) startSSO(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	ip, org := clientIP(r), r.PathValue("org")
	if err := h.issuer.CheckClient(ip); err != nil {
		return err
	}
	c, err := h.service.SSOConfig(r.Context(), org)
	if err != nil {
		return err
	}
	c.RedirectURL = h.redirectURL(r, c, org)
	console := r.URL.Query().Get("console") == "true"
	to, flow, err := h.sso.Begin(r.Context(), c, console)
	if err != nil {
		return err
	}
	sealed, err := sso.SealFlow(h.verifier, flow)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: flowCookie, Value: sealed, Path: h.ssoPath(org, ""), MaxAge: int(sso.FlowTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// ssoCallback is GET {auth_prefix}org/{org}/oidc/callback, where the provider sends the
// browser back: the answer checked against the flow, the user found or made, a session
// started. It answers Palette's v1UserToken, or for the console sets its cookie and
// goes back to it.
func (h *Handler) ssoCallback(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	ip, org := clientIP(r), r.PathValue("org")
	if err := h.issuer.CheckClient(ip); err != nil {
		return err
	}
	// The flow is used once, whatever the outcome.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: h.ssoPath(org, ""), MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	flow, out := h.finishSSO(r, org, ip)
	if flow.Console {
		return h.backToConsole(w, r, out)
	}
	if out.err != nil {
		return out.err
	}
	return writeJSON(w, http.StatusOK, userTokenJSON{Authorization: out.issued.Token})
}

// userTokenJSON is Palette's v1UserToken.
type userTokenJSON struct {
	Authorization string `json:"Authorization"`
	IsMfa         bool   `json:"isMfa"`
}

// finishSSO runs the callback's checks and the sign-in, counting a failure against the
// client like a failed login.
func (h *Handler) finishSSO(r *http.Request, org, ip string) (sso.Flow, ssoOutcome) {
	var flow sso.Flow
	cookie, err := r.Cookie(flowCookie)
	if err == nil {
		flow, err = sso.OpenFlow(h.verifier, cookie.Value, clockNow())
	} else {
		err = sso.ErrNoFlow
	}
	var out ssoOutcome
	if err == nil {
		out = h.signIn(r, org, ip, flow)
	} else {
		out.err = err
	}
	if out.err != nil {
		h.issuer.ClientRejected(ip, out.err)
		e := authcore.AsError(out.err)
		h.logger.Info("single sign-on refused", zap.String("org", org), zap.String("result", e.Code), zap.String("error", e.Detail()), zap.String("client_ip", ip))
	}
	return flow, out
}

// ssoOutcome is a sign-in's session, or why there is none.
type ssoOutcome struct {
	issued sessions.Issued
	err    error
}

func (h *Handler) signIn(r *http.Request, org, ip string, flow sso.Flow) ssoOutcome {
	c, err := h.service.SSOConfig(r.Context(), org)
	if err != nil {
		return ssoOutcome{err: err}
	}
	c.RedirectURL = h.redirectURL(r, c, org)
	id, err := h.sso.Finish(r.Context(), c, flow, r.URL.Query())
	if err != nil {
		return ssoOutcome{err: err}
	}
	u, err := h.service.SSOSignIn(r.Context(), c, id, ip)
	if err != nil {
		return ssoOutcome{err: err}
	}
	issued, err := h.issuer.LoginWithSSO(r.Context(), u, ip)
	if err != nil {
		return ssoOutcome{err: err}
	}
	h.logger.Info("login", zap.String("user_uid", u.UID), zap.String("tenant_uid", u.TenantUID), zap.String("method", "sso"))
	return ssoOutcome{issued: issued}
}

// backToConsole ends a console's sign-in: its cookie set and the console opened, or the
// console opened with the reason it failed.
func (h *Handler) backToConsole(w http.ResponseWriter, r *http.Request, out ssoOutcome) error {
	to := h.consolePrefix
	if out.err != nil {
		to += "?ssoError=" + url.QueryEscape(authcore.AsError(out.err).Message)
	} else {
		setTokenCookie(w, out.issued)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// ssoLogout is GET {auth_prefix}org/{org}/oidc/logout: it ends the caller's session, if
// a credential came with it, and the provider's when the provider has an end-session
// endpoint (the browser is sent there, back to the tenant's logoutUrl); else 204.
func (h *Handler) ssoLogout(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	ip, org := clientIP(r), r.PathValue("org")
	if p, _, err := h.authenticateMethod(r); err == nil && p.Method == authcore.MethodToken {
		if err := h.issuer.RevokeTokens(r.Context(), p, ip, nil); err != nil {
			return err
		}
	}
	clearTokenCookie(w)
	c, err := h.service.SSOConfig(r.Context(), org)
	if err != nil {
		return noContent(w) // no single sign-on: Keygate's session was all there was
	}
	to, err := h.sso.EndSessionURL(r.Context(), c, c.LogoutURL)
	if err != nil || to == "" {
		return noContent(w)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// withSSOLinks fills in where each of the organisation's SSO logins starts: this
// gateway's start endpoint. The first is the organisation's redirectUrl.
func (h *Handler) withSSOLinks(o manage.Organization) manage.Organization {
	logins := make([]manage.SSOLogin, len(o.SSOLogins))
	for i, l := range o.SSOLogins {
		if l.Name == manage.SSOLoginOIDC {
			l.RedirectURI = h.ssoPath(o.Name, "login")
		}
		logins[i] = l
	}
	o.SSOLogins = logins
	if len(logins) > 0 && o.RedirectURL == "" {
		o.RedirectURL = logins[0].RedirectURI
	}
	return o
}
