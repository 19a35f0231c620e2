package caddymodule

import (
	"net/http"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// scimTokenJSON is a tenant's SCIM token as Keygate shows it: never the secret, except
// once, in the answer to the request that made it.
type scimTokenJSON struct {
	Token      string `json:"token,omitempty"`
	Hint       string `json:"hint"`
	CreatedAt  string `json:"createdAt"`
	LastUsedAt string `json:"lastUsedAt,omitempty"`
	// BaseURL is the SCIM base URL to give the identity provider.
	BaseURL string `json:"baseUrl"`
}

func (h *Handler) scimTokenToJSON(r *http.Request, t storage.SCIMToken) scimTokenJSON {
	j := scimTokenJSON{Hint: t.Hint, CreatedAt: timeString(t.CreatedAt), BaseURL: h.scimBase(r)}
	if !t.LastUsedAt.IsZero() {
		j.LastUsedAt = timeString(t.LastUsedAt)
	}
	return j
}

// rotateSCIMToken makes the tenant's SCIM token, replacing any earlier one at once.
func (h *Handler) rotateSCIMToken(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	token, t, err := h.service.RotateSCIMToken(r.Context(), a, r.PathValue("tenantUid"))
	if err != nil {
		return err
	}
	j := h.scimTokenToJSON(r, t)
	j.Token = token
	return writeJSON(w, http.StatusCreated, j)
}

func (h *Handler) getSCIMToken(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	t, err := h.service.SCIMToken(r.Context(), a, r.PathValue("tenantUid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.scimTokenToJSON(r, t))
}

func (h *Handler) deleteSCIMToken(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteSCIMToken(r.Context(), a, r.PathValue("tenantUid")))
}
