package caddymodule

import (
	"net/http"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// listRoles answers GET /v1/roles: the tenant's roles, built-in then custom, in one page
// (roles are few).
func (h *Handler) listRoles(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	roles, err := h.service.ListRoles(r.Context(), a)
	if err != nil {
		return err
	}
	items := make([]roleJSON, 0, len(roles))
	for _, role := range roles {
		items = append(items, roleToJSON(role))
	}
	return writeJSON(w, http.StatusOK, list[roleJSON]{Items: items, ListMeta: listMeta{Count: len(items), Limit: len(items)}})
}

// createRole answers POST /v1/roles with 201 {uid}.
func (h *Handler) createRole(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body roleBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	role, err := h.service.CreateRole(r.Context(), a, manageRole(body))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, struct {
		UID string `json:"uid"`
	}{role.UID})
}

// userRolesJSON is Palette's answer to GET /v1/users/{uid}/roles: the roles held
// directly, and those inherited from teams.
type userRolesJSON struct {
	Roles          []nameUID `json:"roles"`
	InheritedRoles []nameUID `json:"inheritedRoles"`
}

func (h *Handler) getUserRoles(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	u, err := h.service.GetUser(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	roles, err := h.service.ListRoles(r.Context(), a)
	if err != nil {
		return err
	}
	byUID := map[string]storage.RoleDef{}
	for _, role := range roles {
		byUID[role.UID] = role
	}
	out := userRolesJSON{Roles: []nameUID{}, InheritedRoles: []nameUID{}}
	own := map[string]bool{}
	for _, uid := range u.Roles {
		own[uid] = true
		out.Roles = append(out.Roles, nameUID{Name: byUID[uid].Name, UID: uid})
	}
	for _, uid := range u.TenantRoles {
		if !own[uid] {
			out.InheritedRoles = append(out.InheritedRoles, nameUID{Name: byUID[uid].Name, UID: uid})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// putUserRoles answers PUT /v1/users/{uid}/roles {roles:[uid]} with 204.
func (h *Handler) putUserRoles(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body struct {
		Roles []string `json:"roles"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	_, err := h.service.SetUserRoles(r.Context(), a, r.PathValue("uid"), body.Roles)
	return noContentUnless(w, err)
}
