package caddymodule

import (
	"context"
	"net/http"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// SCIM's /Users: the tenant's users, changed through the management service as its
// identity provider (audited idp:scim). Deactivating or deleting a user there stops
// their keys and tokens on the very next request, on every node.

func (h *Handler) scimListUsers(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	f, err := parseSCIMFilter(r.URL.Query().Get("filter"), "username", "id")
	if err != nil {
		return err
	}
	pg, err := parseSCIMPaging(r)
	if err != nil {
		return err
	}
	var users []storage.User
	total := 0
	if f != nil {
		users, err = h.scimFindUser(r.Context(), a, f)
		total = len(users)
		users = pageOf(users, pg)
	} else {
		users, total, err = h.scimUserPage(r.Context(), a, pg)
	}
	if err != nil {
		return err
	}
	return h.writeSCIMUsers(w, r, a, http.StatusOK, users, total, pg)
}

// scimFindUser is the user the filter names, if any.
func (h *Handler) scimFindUser(ctx context.Context, a authcore.Actor, f *scimFilter) ([]storage.User, error) {
	var u storage.User
	var err error
	if f.attr == "username" {
		u, err = h.service.UserByEmail(ctx, a, f.value)
	} else {
		u, err = h.service.GetUser(ctx, a, f.value)
	}
	switch {
	case authcore.AsError(err).Status == http.StatusNotFound:
		return nil, nil
	case err != nil:
		return nil, err
	}
	return []storage.User{u}, nil
}

// scimUserPage walks the tenant's users, oldest first, for the page pg asks and their
// total: SCIM pages by position, Keygate's store by cursor.
func (h *Handler) scimUserPage(ctx context.Context, a authcore.Actor, pg scimPaging) ([]storage.User, int, error) {
	var page []storage.User
	total, cursor := 0, ""
	for {
		users, next, err := h.service.ListUsers(ctx, a, manage.MaxPageSize, cursor)
		if err != nil {
			return nil, 0, err
		}
		for _, u := range users {
			if pg.takes(total) {
				page = append(page, u)
			}
			total++
		}
		if next == "" {
			return page, total, nil
		}
		cursor = next
	}
}

// pageOf is the part of all (the whole listing) that pg asks for.
func pageOf[T any](all []T, pg scimPaging) []T {
	var page []T
	for i, v := range all {
		if pg.takes(i) {
			page = append(page, v)
		}
	}
	return page
}

// writeSCIMUsers answers a ListResponse of users.
func (h *Handler) writeSCIMUsers(w http.ResponseWriter, r *http.Request, a authcore.Actor, status int, users []storage.User, total int, pg scimPaging) error {
	ids, err := h.service.ExternalIDs(r.Context(), a, storage.ExternalUser, userUIDs(users))
	if err != nil {
		return err
	}
	base := h.scimBase(r)
	list := scimList[scimUser]{Schemas: []string{scimListSchema}, TotalResults: total, StartIndex: pg.start, ItemsPerPage: len(users), Resources: []scimUser{}}
	for _, u := range users {
		list.Resources = append(list.Resources, toSCIMUser(u, ids[u.UID], base))
	}
	return writeSCIM(w, status, list)
}

func userUIDs(users []storage.User) []string {
	uids := make([]string, 0, len(users))
	for _, u := range users {
		uids = append(uids, u.UID)
	}
	return uids
}

// writeSCIMUser answers with one user, read again so that it shows what was stored.
func (h *Handler) writeSCIMUser(w http.ResponseWriter, r *http.Request, a authcore.Actor, status int, uid string) error {
	u, err := h.service.GetUser(r.Context(), a, uid)
	if err != nil {
		return err
	}
	ids, err := h.service.ExternalIDs(r.Context(), a, storage.ExternalUser, []string{uid})
	if err != nil {
		return err
	}
	res := toSCIMUser(u, ids[uid], h.scimBase(r))
	if status == http.StatusCreated {
		w.Header().Set("Location", res.Meta.Location)
	}
	return writeSCIM(w, status, res)
}

func (h *Handler) scimGetUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return h.writeSCIMUser(w, r, a, http.StatusOK, r.PathValue("id"))
}

// scimCreateUser makes an SSO user: no password, and no activation link (they sign in
// through the identity provider).
func (h *Handler) scimCreateUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body scimUserBody
	if err := decodeSCIM(r, &body); err != nil {
		return err
	}
	if body.UserName == "" {
		return scimBad("invalidValue", "userName (the user's email) is required")
	}
	req := manage.UserRequest{Email: body.UserName, SSO: true, ExternalID: body.ExternalID}
	req.FirstName, req.LastName = body.names()
	if body.Active.Set {
		req.Active = &body.Active.Value
	}
	u, err := h.service.CreateUser(r.Context(), a, req)
	if err != nil {
		return err
	}
	return h.writeSCIMUser(w, r, a, http.StatusCreated, u.UID)
}

// names are the body's given and family names; without a name, its displayName split
// at the first space.
func (b scimUserBody) names() (first, last string) {
	if b.Name != nil {
		return b.Name.GivenName, b.Name.FamilyName
	}
	first, last, _ = strings.Cut(strings.TrimSpace(b.DisplayName), " ")
	return first, strings.TrimSpace(last)
}

// scimReplaceUser is PUT: names, status and externalId as sent; userName must stay.
func (h *Handler) scimReplaceUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body scimUserBody
	if err := decodeSCIM(r, &body); err != nil {
		return err
	}
	uid := r.PathValue("id")
	u, err := h.service.GetUser(r.Context(), a, uid)
	if err != nil {
		return err
	}
	if body.UserName != "" && !strings.EqualFold(body.UserName, u.Email) {
		return scimBad("mutability", "userName is the user's email, which cannot change")
	}
	req := manage.UserRequest{ExactNames: true, ExternalID: body.ExternalID}
	req.FirstName, req.LastName = body.names()
	if body.Active.Set {
		req.Active = &body.Active.Value
	}
	if _, err := h.service.UpdateUser(r.Context(), a, uid, req); err != nil {
		return err
	}
	return h.writeSCIMUser(w, r, a, http.StatusOK, uid)
}

// scimPatchUser applies a PatchOp: a deactivation ({active: false}) goes the way every
// disabling does (manage.Service.UpdateUser, as SetUserDisabled), so the user's keys and
// tokens stop at once.
func (h *Handler) scimPatchUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body scimPatchBody
	if err := decodeSCIM(r, &body); err != nil {
		return err
	}
	ops, err := readPatch(body)
	if err != nil {
		return err
	}
	uid := r.PathValue("id")
	u, err := h.service.GetUser(r.Context(), a, uid)
	if err != nil {
		return err
	}
	req, err := patchUser(u, ops)
	if err != nil {
		return err
	}
	if onlyActive := req.Active != nil && req.ExternalID == nil && !req.ExactNames; onlyActive {
		_, err = h.service.SetUserDisabled(r.Context(), a, uid, !*req.Active)
	} else {
		_, err = h.service.UpdateUser(r.Context(), a, uid, req)
	}
	if err != nil {
		return err
	}
	return h.writeSCIMUser(w, r, a, http.StatusOK, uid)
}

func (h *Handler) scimDeleteUser(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteUser(r.Context(), a, r.PathValue("id")))
}
