package caddymodule

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/authcore/protect"
)

// Palette's password requests.
type (
	passwordChangeByEmail struct {
		EmailID         string `json:"emailId"`
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	passwordChange struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	passwordResetRequest struct {
		EmailID string `json:"emailId"`
	}
	passwordActivation struct {
		Password string `json:"password"`
	}
)

// changePasswordByEmail is PATCH {api_prefix}users/password/change: no credential, the
// current password instead, checked like a login's (counted, throttled, in the budget).
func (h *Handler) changePasswordByEmail(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	var body passwordChangeByEmail
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := manage.CheckNewPassword("newPassword", body.NewPassword); err != nil {
		return err
	}
	ip := clientIP(r)
	return noContentUnless(w, h.issuer.Guarded(r.Context(), body.EmailID, ip, func(hs protect.Hasher) error {
		return h.service.ChangePasswordByEmail(r.Context(), ip, body.EmailID, body.CurrentPassword, body.NewPassword, hs)
	}))
}

// changeOwnPassword is PATCH {api_prefix}users/{uid}/password/change, by the user
// themself: a stolen token alone does not change the password, the current one is
// needed, and guesses at it are counted like failed logins.
func (h *Handler) changeOwnPassword(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body passwordChange
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := manage.CheckNewPassword("newPassword", body.NewPassword); err != nil {
		return err
	}
	return noContentUnless(w, h.issuer.Guarded(r.Context(), a.Email, a.IP, func(hs protect.Hasher) error {
		return h.service.ChangeOwnPassword(r.Context(), a, r.PathValue("uid"), body.CurrentPassword, body.NewPassword, hs)
	}))
}

// startPasswordReset is PATCH {api_prefix}users/{uid}/password/reset, by a tenant admin:
// the user gets a new activation link, shown to admins as status.activationLink.
func (h *Handler) startPasswordReset(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.StartPasswordReset(r.Context(), a, r.PathValue("uid")))
}

// resetRequestTimeout bounds the work of one reset request, done after the answer.
const resetRequestTimeout = 10 * time.Second

// requestPasswordReset is POST {auth_prefix}user/password/reset, by anyone. It answers
// 204 before looking the email up, so that neither the answer nor its timing says
// whether the email is an account; the link, if one is made, is for the tenant admins to
// hand over. Requests are counted against the client's network.
func (h *Handler) requestPasswordReset(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	ip := clientIP(r)
	if err := h.issuer.CountRequest(ip); err != nil {
		return err
	}
	var body passwordResetRequest
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), resetRequestTimeout)
	go func() {
		defer cancel()
		if err := h.service.RequestPasswordReset(ctx, ip, body.EmailID); err != nil {
			h.logger.Warn("a password reset request could not be recorded", zap.String("client_ip", ip), zap.Error(err))
		}
	}()
	return noContent(w)
}

// activatePassword is PATCH {auth_prefix}password/{passwordToken}/activate: the link's
// holder sets the password, once. Attempts are counted against the client's network and
// hashed in the budget, so tokens cannot be guessed faster than passwords.
func (h *Handler) activatePassword(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	var body passwordActivation
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := manage.CheckNewPassword("password", body.Password); err != nil {
		return err
	}
	ip := clientIP(r)
	token := unescapeSegment(r.PathValue("passwordToken"))
	return noContentUnless(w, h.issuer.Guarded(r.Context(), "", ip, func(hs protect.Hasher) error {
		return h.service.ActivatePassword(r.Context(), ip, token, body.Password, hs)
	}))
}

// activationLink is where a link token is used: the console's page for it when the
// console is on (the token in the fragment, which no request carries, so no log holds
// it), else the API path it is PATCHed to.
func (h *Handler) activationLink(token string) string {
	if token == "" {
		return ""
	}
	if h.console != nil {
		return h.consolePrefix + "#/activate/" + token
	}
	return h.authPrefix + "password/" + url.PathEscape(token) + "/activate"
}

// activationLinks returns the link of each user with one pending, for tenant admins.
func (h *Handler) activationLinks(r *http.Request, a authcore.Actor) (map[string]string, error) {
	tokens, err := h.service.ActivationLinks(r.Context(), a)
	links := make(map[string]string, len(tokens))
	for uid, token := range tokens {
		links[uid] = h.activationLink(token)
	}
	return links, err
}

// tokenSettingsJSON is Palette's v1AuthTokenSettings.
type tokenSettingsJSON struct {
	ExpiryTimeMinutes int `json:"expiryTimeMinutes"`
}

func (h *Handler) getTokenSettings(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	ts, err := h.service.TokenSettings(r.Context(), a, r.PathValue("tenantUid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenSettingsJSON{ExpiryTimeMinutes: int(math.Ceil(ts.TTL.Minutes()))})
}

func (h *Handler) setTokenSettings(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body tokenSettingsJSON
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ttl := time.Duration(body.ExpiryTimeMinutes) * time.Minute
	return noContentUnless(w, h.service.SetTokenTTL(r.Context(), a, r.PathValue("tenantUid"), ttl))
}

// Palette's organisation discovery.
type (
	ssoLoginJSON struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
		Logo        string `json:"logo"`
		RedirectURI string `json:"redirectUri"`
	}
	// loginResponseJSON is v1LoginResponse, less what would describe the deployment
	// (appEnv, rootDomain, securityMode, totalTenants: a count of tenants is nobody's
	// business before signing in).
	loginResponseJSON struct {
		OrgName     string         `json:"orgName"`
		AuthType    string         `json:"authType"`
		RedirectURL string         `json:"redirectUrl"`
		SSOLogins   []ssoLoginJSON `json:"ssoLogins"`
	}
	organizationJSON struct {
		Name        string         `json:"name"`
		AuthType    string         `json:"authType"`
		RedirectURL string         `json:"redirectUrl"`
		SSOLogins   []ssoLoginJSON `json:"ssoLogins"`
	}
	organizationsJSON struct {
		Organizations []organizationJSON `json:"organizations"`
	}
)

func ssoLoginsJSON(o manage.Organization) []ssoLoginJSON {
	out := make([]ssoLoginJSON, 0, len(o.SSOLogins))
	for _, l := range o.SSOLogins {
		out = append(out, ssoLoginJSON{Name: l.Name, DisplayName: l.DisplayName, Logo: l.Logo, RedirectURI: l.RedirectURI})
	}
	return out
}

// serveOrg is GET {auth_prefix}org?orgName=: how the organisation signs in, to anyone.
func (h *Handler) serveOrg(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	o, err := h.service.Organization(r.Context(), r.URL.Query().Get("orgName"))
	if err != nil {
		return err
	}
	o = h.withSSOLinks(o)
	return writeJSON(w, http.StatusOK, loginResponseJSON{OrgName: o.Name, AuthType: o.AuthType, RedirectURL: o.RedirectURL, SSOLogins: ssoLoginsJSON(o)})
}

// serveOrgs is GET {auth_prefix}orgs: the caller's organisations when a credential is
// presented (it is checked like any other), none without one.
func (h *Handler) serveOrgs(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	a := authcore.Actor{IP: clientIP(r)}
	p, method, err := h.authenticateMethod(r)
	switch {
	case method == "none" && err == authcore.ErrCredentialMissing:
	case err != nil:
		return err
	default:
		a.Principal = p
	}
	orgs, err := h.service.Organizations(r.Context(), a)
	if err != nil {
		return err
	}
	out := organizationsJSON{Organizations: make([]organizationJSON, 0, len(orgs))}
	for _, o := range orgs {
		o = h.withSSOLinks(o)
		out.Organizations = append(out.Organizations, organizationJSON{Name: o.Name, AuthType: o.AuthType, RedirectURL: o.RedirectURL, SSOLogins: ssoLoginsJSON(o)})
	}
	return writeJSON(w, http.StatusOK, out)
}
