package caddymodule

import (
	"net/http"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// createUser answers POST /v1/users with 201 {uid}: Palette's v1UserEntity (spec.roles,
// spec.teams, no password: the user gets an activation link) or Keygate's own body
// (spec.role, spec.password).
func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body userBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	u, err := h.service.CreateUser(r.Context(), a, body.request())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, uidAnswer{UID: u.UID})
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var links map[string]string
	return serveList(w, r, func(limit int, cursor string) ([]storage.User, string, error) {
		users, next, err := h.service.ListUsers(r.Context(), a, limit, cursor)
		if err == nil {
			links, err = h.activationLinks(r, a)
		}
		return users, next, err
	}, func(u storage.User) userJSON { return withActivationLink(userToJSON(u), links) })
}

// userMetaJSON is Palette's v1UserMetaEntity.
type userMetaJSON struct {
	EmailID string `json:"emailId"`
	Name    string `json:"name"`
	UID     string `json:"uid"`
}

// usersMeta answers GET /v1/users/meta: every user of the tenant, in one answer
// (Palette's v1UsersMetadata).
func (h *Handler) usersMeta(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	users, err := h.service.AllUsers(r.Context(), a)
	if err != nil {
		return err
	}
	items := make([]userMetaJSON, 0, len(users))
	for _, u := range users {
		items = append(items, userMetaJSON{EmailID: u.Email, Name: u.Email, UID: u.UID})
	}
	return writeJSON(w, http.StatusOK, struct {
		Items []userMetaJSON `json:"items"`
	}{items})
}

// getUser reads a user of the tenant (tenant admins) or the caller themselves.
func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	u, err := h.service.GetUser(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	links, err := h.activationLinks(r, a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, withActivationLink(userToJSON(u), links))
}

// withActivationLink adds the user's pending password link, if links holds one.
func withActivationLink(j userJSON, links map[string]string) userJSON {
	j.Status.ActivationLink = links[j.Metadata.UID]
	return j
}

// getMe describes the caller, whatever their role: the console shows who is signed in
// and offers the tenant pages only to tenant admins.
func (h *Handler) getMe(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	u, err := h.service.Me(r.Context(), a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userToJSON(u))
}

// putUser answers PUT /v1/users/{uid} (Palette's v1UserUpdateEntity) with 204.
func (h *Handler) putUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body userUpdateBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	return h.replaceUser(w, r, a, body)
}

// replaceUser is a PUT's change, which a JSON Patch becomes too.
func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request, a authcore.Actor, body userUpdateBody) error {
	_, err := h.service.UpdateUser(r.Context(), a, r.PathValue("uid"), body.request())
	return noContentUnless(w, err)
}

// updateUser answers PATCH /v1/users/{uid} with 204: a JSON Patch (RFC 6902) over the
// user's JSON, as Palette's v1UsersUidPatch takes, applied as a PUT of the result; or
// Keygate's own object body, whose empty fields keep their value.
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var legacy userBody
	ops, patched, err := patchBody(r, &legacy)
	if err != nil {
		return err
	}
	if !patched {
		_, err := h.service.UpdateUser(r.Context(), a, r.PathValue("uid"), legacy.request())
		return noContentUnless(w, err)
	}
	u, err := h.service.GetUser(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	var next userUpdateBody
	if err := applyJSONPatch(ops, userToJSON(u), &next); err != nil {
		return err
	}
	if next.Spec.Roles == nil { // removed by the patch: the document always has them
		next.Spec.Roles = &[]string{}
	}
	return h.replaceUser(w, r, a, next)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteUser(r.Context(), a, r.PathValue("uid")))
}

// userProjectJSON is Palette's v1UidRoleSummary: a project with the user's own roles
// and those of their teams.
type userProjectJSON struct {
	UID            string    `json:"uid"`
	Name           string    `json:"name"`
	Roles          []nameUID `json:"roles"`
	InheritedRoles []nameUID `json:"inheritedRoles"`
}

// getUserProjects answers GET /v1/users/{uid}/projects (Palette's v1ProjectRolesEntity).
func (h *Handler) getUserProjects(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	ups, err := h.service.UserProjects(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	names, err := h.roleNames(r, a)
	if err != nil {
		return err
	}
	out := make([]userProjectJSON, 0, len(ups))
	for _, up := range ups {
		out = append(out, userProjectJSON{UID: up.Project.UID, Name: up.Project.Name,
			Roles: names.of(up.Roles), InheritedRoles: names.of(up.InheritedRoles)})
	}
	return writeJSON(w, http.StatusOK, struct {
		Projects []userProjectJSON `json:"projects"`
	}{out})
}

// putUserProjects answers PUT /v1/users/{uid}/projects (Palette's v1ProjectRolesPatch)
// with 204: the user's own project roles become those named.
func (h *Handler) putUserProjects(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body struct {
		Projects []struct {
			ProjectUID string   `json:"projectUid"`
			Roles      []string `json:"roles"`
		} `json:"projects"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	roles := make(map[string][]string, len(body.Projects))
	for i, p := range body.Projects {
		if p.ProjectUID == "" {
			return authcore.BadRequest("projects[%d].projectUid is required", i)
		}
		roles[p.ProjectUID] = append(roles[p.ProjectUID], p.Roles...)
	}
	return noContentUnless(w, h.service.SetUserProjects(r.Context(), a, r.PathValue("uid"), roles))
}

// roleNameIndex names the tenant's roles by uid.
type roleNameIndex map[string]string

func (h *Handler) roleNames(r *http.Request, a authcore.Actor) (roleNameIndex, error) {
	roles, err := h.service.ListRoles(r.Context(), a)
	if err != nil {
		return nil, err
	}
	names := make(roleNameIndex, len(roles))
	for _, role := range roles {
		names[role.UID] = role.Name
	}
	return names, nil
}

// of is uids with their names, as Palette's v1UidSummary; never nil.
func (n roleNameIndex) of(uids []string) []nameUID {
	out := make([]nameUID, 0, len(uids))
	for _, uid := range uids {
		out = append(out, nameUID{Name: n[uid], UID: uid})
	}
	return out
}
