package caddymodule

import (
	"net/http"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// teamJSON is Palette's v1Team. Keygate keeps no team sources (Palette's SSO group
// links), so spec.sources is always empty.
type teamJSON struct {
	Metadata objectMeta `json:"metadata"`
	Spec     teamSpec   `json:"spec"`
	Status   struct{}   `json:"status"`
}

type teamSpec struct {
	Users   []string `json:"users"`
	Roles   []string `json:"roles"`
	Sources []string `json:"sources"`
}

// teamBody is a team to create or what replaces one, as Palette's v1Team; sources are
// accepted and not kept.
type teamBody struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec teamSpec `json:"spec"`
}

func (b teamBody) request() manage.TeamRequest {
	return manage.TeamRequest{Name: b.Metadata.Name, Users: b.Spec.Users, Roles: b.Spec.Roles}
}

func teamToJSON(t storage.Team) teamJSON {
	return teamJSON{
		Metadata: objectMeta{UID: t.UID, Name: t.Name, CreationTimestamp: timeString(t.CreatedAt), LastModifiedTimestamp: timeString(t.UpdatedAt)},
		Spec:     teamSpec{Users: nonNil(t.Users), Roles: nonNil(t.Roles), Sources: []string{}},
	}
}

// listTeams answers GET /v1/teams: the tenant's teams for admins, the caller's own for
// other users.
func (h *Handler) listTeams(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return serveList(w, r, func(limit int, cursor string) ([]storage.Team, string, error) {
		return h.service.ListTeams(r.Context(), a, limit, cursor)
	}, teamToJSON)
}

// createTeam answers POST /v1/teams with 201 {uid}.
func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body teamBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	t, err := h.service.CreateTeam(r.Context(), a, body.request())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, uidAnswer{UID: t.UID})
}

func (h *Handler) getTeam(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	t, err := h.service.GetTeam(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, teamToJSON(t))
}

// putTeam answers PUT /v1/teams/{uid}, which replaces the team's name, members and
// roles, with 204.
func (h *Handler) putTeam(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body teamBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	_, err := h.service.ReplaceTeam(r.Context(), a, r.PathValue("uid"), body.request())
	return noContentUnless(w, err)
}

// patchTeam answers PATCH /v1/teams/{uid} with 204: a JSON Patch (RFC 6902) over the
// team's JSON, as Palette's v1TeamsUidPatch takes, applied as a PUT of the result.
func (h *Handler) patchTeam(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	ops, _, err := patchBody(r, nil)
	if err != nil {
		return err
	}
	t, err := h.service.GetTeam(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	var next teamBody
	if err := applyJSONPatch(ops, teamToJSON(t), &next); err != nil {
		return err
	}
	_, err = h.service.ReplaceTeam(r.Context(), a, r.PathValue("uid"), next.request())
	return noContentUnless(w, err)
}

func (h *Handler) deleteTeam(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteTeam(r.Context(), a, r.PathValue("uid")))
}

// teamRolesJSON is Palette's v1TeamTenantRolesEntity, the answer to
// GET /v1/teams/{uid}/roles.
type teamRolesJSON struct {
	Roles []nameUID `json:"roles"`
}

func (h *Handler) getTeamRoles(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	t, err := h.service.GetTeam(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	roles, err := h.service.ListRoles(r.Context(), a)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, role := range roles {
		names[role.UID] = role.Name
	}
	out := teamRolesJSON{Roles: make([]nameUID, 0, len(t.Roles))}
	for _, uid := range t.Roles {
		out.Roles = append(out.Roles, nameUID{Name: names[uid], UID: uid})
	}
	return writeJSON(w, http.StatusOK, out)
}

// putTeamRoles answers PUT /v1/teams/{uid}/roles {roles:[uid]} (Palette's
// v1TeamTenantRolesUpdate) with 204.
func (h *Handler) putTeamRoles(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body struct {
		Roles []string `json:"roles"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	_, err := h.service.SetTeamRoles(r.Context(), a, r.PathValue("uid"), body.Roles)
	return noContentUnless(w, err)
}
