package caddymodule

import (
	"encoding/base64"
	"encoding/pem"
	"net/http"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// Palette's v1TenantOidcClientSpec, with Keygate's own fields after it.
type (
	oidcSpecJSON struct {
		CallbackURL     string           `json:"callbackUrl"`
		ClientID        string           `json:"clientId"`
		ClientSecret    string           `json:"clientSecret"` // write-only: always "" when read
		DefaultTeams    []string         `json:"defaultTeams"`
		IsSsoEnabled    bool             `json:"isSsoEnabled"`
		IssuerTLS       oidcTLSJSON      `json:"issuerTls"`
		IssuerURL       string           `json:"issuerUrl"`
		LogoutURL       string           `json:"logoutUrl"`
		RequiredClaims  oidcClaimsJSON   `json:"requiredClaims"`
		Scopes          []string         `json:"scopes"`
		ScopesDelimiter string           `json:"scopesDelimiter"`
		SyncSsoTeams    bool             `json:"syncSsoTeams"`
		UserInfo        oidcUserInfoJSON `json:"userInfo"`

		// CreateUsers: a first sign-in creates the user (default true, as Palette does).
		CreateUsers *bool `json:"createUsers,omitempty"`
		// LinkExistingUsers: a sign-in may use an account made otherwise (a password user)
		// with the same verified email (default false).
		LinkExistingUsers *bool `json:"linkExistingUsers,omitempty"`
		// ClearClientSecret removes the stored secret (a public client with PKCE only).
		ClearClientSecret bool `json:"clearClientSecret,omitempty"`
		// HasClientSecret (read only) says whether a secret is stored.
		HasClientSecret bool `json:"hasClientSecret"`
		// ReadOnly (read only): the gateway's configuration file sets this organisation's
		// single sign-on, and the API cannot change it.
		ReadOnly bool `json:"readOnly"`
	}
	oidcTLSJSON struct {
		CACertificateBase64 string `json:"caCertificateBase64"`
		InsecureSkipVerify  bool   `json:"insecureSkipVerify"`
	}
	oidcClaimsJSON struct {
		Email       string `json:"Email"`
		FirstName   string `json:"FirstName"`
		LastName    string `json:"LastName"`
		SpectroTeam string `json:"SpectroTeam"`
	}
	oidcUserInfoJSON struct {
		Claims      oidcClaimsJSON `json:"claims"`
		UseUserInfo bool           `json:"useUserInfo"`
	}
)

// getOIDCConfig is GET {api_prefix}tenants/{tenantUid}/oidc/config.
func (h *Handler) getOIDCConfig(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	s, err := h.service.OIDCSettings(r.Context(), a, r.PathValue("tenantUid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, oidcSpecOf(s))
}

// postOIDCConfig is POST {api_prefix}tenants/{tenantUid}/oidc/config: 204.
func (h *Handler) postOIDCConfig(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body oidcSpecJSON
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	s, err := body.settings()
	if err != nil {
		return err
	}
	return noContentUnless(w, h.service.SetOIDCSettings(r.Context(), a, r.PathValue("tenantUid"), s))
}

func oidcSpecOf(s manage.OIDCSettings) oidcSpecJSON {
	create, link := s.CreateUsers, s.LinkUsers
	out := oidcSpecJSON{
		CallbackURL: s.CallbackURL, ClientID: s.ClientID, DefaultTeams: nonNil(s.DefaultTeams), IsSsoEnabled: s.Enabled,
		IssuerTLS: oidcTLSJSON{InsecureSkipVerify: s.InsecureSkipVerify}, IssuerURL: s.IssuerURL, LogoutURL: s.LogoutURL,
		RequiredClaims: claimsJSON(s.Claims), Scopes: nonNil(s.Scopes), ScopesDelimiter: s.ScopesDelimiter,
		SyncSsoTeams: s.SyncTeams, UserInfo: oidcUserInfoJSON{Claims: claimsJSON(s.UserInfoClaims), UseUserInfo: s.UseUserInfo},
		CreateUsers: &create, LinkExistingUsers: &link, HasClientSecret: s.HasClientSecret, ReadOnly: s.FromFile,
	}
	if s.CACertificatePEM != "" {
		out.IssuerTLS.CACertificateBase64 = base64.StdEncoding.EncodeToString([]byte(s.CACertificatePEM))
	}
	return out
}

func (b oidcSpecJSON) settings() (manage.OIDCSettings, error) {
	ca, err := caCertificatePEM(b.IssuerTLS.CACertificateBase64)
	if err != nil {
		return manage.OIDCSettings{}, err
	}
	return manage.OIDCSettings{
		OIDCConfig: storage.OIDCConfig{
			IssuerURL: b.IssuerURL, ClientID: b.ClientID, CallbackURL: b.CallbackURL, LogoutURL: b.LogoutURL,
			Scopes: b.Scopes, ScopesDelimiter: b.ScopesDelimiter, Enabled: b.IsSsoEnabled, DefaultTeams: b.DefaultTeams,
			SyncTeams: b.SyncSsoTeams, CACertificatePEM: ca, InsecureSkipVerify: b.IssuerTLS.InsecureSkipVerify,
			Claims: b.RequiredClaims.claims(), UseUserInfo: b.UserInfo.UseUserInfo, UserInfoClaims: b.UserInfo.Claims.claims(),
			CreateUsers: b.CreateUsers == nil || *b.CreateUsers, LinkUsers: b.LinkExistingUsers != nil && *b.LinkExistingUsers,
		},
		ClientSecret: b.ClientSecret, ClearSecret: b.ClearClientSecret,
	}, nil
}

func claimsJSON(c storage.OIDCClaims) oidcClaimsJSON {
	return oidcClaimsJSON{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, SpectroTeam: c.Teams}
}

func (c oidcClaimsJSON) claims() storage.OIDCClaims {
	return storage.OIDCClaims{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Teams: c.SpectroTeam}
}

// caCertificatePEM reads issuerTls.caCertificateBase64: base64 of PEM certificates (or
// of one DER certificate), as PEM.
func caCertificatePEM(b64 string) (string, error) {
	if b64 == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", authcore.BadRequest("issuerTls.caCertificateBase64 is not base64")
	}
	if block, _ := pem.Decode(raw); block != nil {
		return string(raw), nil
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: raw})), nil
}
