package caddymodule

import (
	"net/http"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
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
	items := []userMetaJSON{}
	for cursor := ""; ; {
		users, next, err := h.service.ListUsers(r.Context(), a, manage.MaxPageSize, cursor)
		if err != nil {
			return err
		}
		for _, u := range users {
			items = append(items, userMetaJSON{EmailID: u.Email, Name: u.Email, UID: u.UID})
		}
		if next == "" {
			return writeJSON(w, http.StatusOK, struct {
				Items []userMetaJSON `json:"items"`
			}{items})
		}
		cursor = next
	}
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
