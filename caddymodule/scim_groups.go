package caddymodule

import (
	"context"
	"net/http"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// SCIM's /Groups: the tenant's teams, their members users. A group's roles are the
// team's, set in Keygate (the provider sends none); a membership change holds on the
// member's very next request.

func (h *Handler) scimListGroups(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	f, err := parseSCIMFilter(r.URL.Query().Get("filter"), "displayname", "id", "externalid")
	if err != nil {
		return err
	}
	pg, err := parseSCIMPaging(r)
	if err != nil {
		return err
	}
	teams, err := h.scimTeams(r.Context(), a, f)
	if err != nil {
		return err
	}
	page := pageOf(teams, pg)
	ids, err := h.service.ExternalIDs(r.Context(), a, storage.ExternalTeam, teamUIDs(teams))
	if err != nil {
		return err
	}
	base, members := h.scimBase(r), !excludesMembers(r)
	list := scimList[scimGroup]{Schemas: []string{scimListSchema}, TotalResults: len(teams), StartIndex: pg.start, ItemsPerPage: len(page), Resources: []scimGroup{}}
	for _, t := range page {
		list.Resources = append(list.Resources, toSCIMGroup(t, ids[t.UID], base, members))
	}
	return writeSCIM(w, http.StatusOK, list)
}

// scimTeams are the tenant's teams the filter selects, oldest first. Teams are few
// (groups of people), so they are all read and filtered here.
func (h *Handler) scimTeams(ctx context.Context, a authcore.Actor, f *scimFilter) ([]storage.Team, error) {
	var all []storage.Team
	cursor := ""
	for {
		teams, next, err := h.service.ListTeams(ctx, a, manage.MaxPageSize, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, teams...)
		if next == "" {
			break
		}
		cursor = next
	}
	if f == nil {
		return all, nil
	}
	var ext map[string]string
	if f.attr == "externalid" {
		var err error
		if ext, err = h.service.ExternalIDs(ctx, a, storage.ExternalTeam, teamUIDs(all)); err != nil {
			return nil, err
		}
	}
	var found []storage.Team
	for _, t := range all {
		switch {
		case f.attr == "displayname" && strings.EqualFold(t.Name, f.value), // displayName is not caseExact
			f.attr == "id" && t.UID == f.value,
			f.attr == "externalid" && ext[t.UID] == f.value:
			found = append(found, t)
		}
	}
	return found, nil
}

func teamUIDs(teams []storage.Team) []string {
	uids := make([]string, 0, len(teams))
	for _, t := range teams {
		uids = append(uids, t.UID)
	}
	return uids
}

// writeSCIMGroup answers with one group as stored.
func (h *Handler) writeSCIMGroup(w http.ResponseWriter, r *http.Request, a authcore.Actor, status int, uid string) error {
	t, err := h.service.GetTeam(r.Context(), a, uid)
	if err != nil {
		return err
	}
	ids, err := h.service.ExternalIDs(r.Context(), a, storage.ExternalTeam, []string{uid})
	if err != nil {
		return err
	}
	res := toSCIMGroup(t, ids[uid], h.scimBase(r), !excludesMembers(r))
	if status == http.StatusCreated {
		w.Header().Set("Location", res.Meta.Location)
	}
	return writeSCIM(w, status, res)
}

func (h *Handler) scimGetGroup(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return h.writeSCIMGroup(w, r, a, http.StatusOK, r.PathValue("id"))
}

func (h *Handler) scimCreateGroup(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body scimGroupBody
	if err := decodeSCIM(r, &body); err != nil {
		return err
	}
	t, err := h.service.CreateTeam(r.Context(), a, manage.TeamRequest{Name: body.DisplayName, Users: userMembers(body.Members), ExternalID: body.ExternalID})
	if err != nil {
		return err
	}
	return h.writeSCIMGroup(w, r, a, http.StatusCreated, t.UID)
}

// scimReplaceGroup is PUT: the name and members as sent; the team's roles stay.
func (h *Handler) scimReplaceGroup(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body scimGroupBody
	if err := decodeSCIM(r, &body); err != nil {
		return err
	}
	uid := r.PathValue("id")
	_, err := h.service.EditTeam(r.Context(), a, uid, func(t storage.Team) (manage.TeamRequest, error) {
		return manage.TeamRequest{Name: body.DisplayName, Users: userMembers(body.Members), Roles: t.Roles, ExternalID: body.ExternalID}, nil
	})
	if err != nil {
		return err
	}
	return h.writeSCIMGroup(w, r, a, http.StatusOK, uid)
}

// scimPatchGroup applies a PatchOp to the team as it is inside the change's transaction,
// so that concurrent member additions (providers send one per user) all hold. It answers
// 204, as Okta and Entra expect of a group PATCH.
func (h *Handler) scimPatchGroup(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body scimPatchBody
	if err := decodeSCIM(r, &body); err != nil {
		return err
	}
	ops, err := readPatch(body)
	if err != nil {
		return err
	}
	_, err = h.service.EditTeam(r.Context(), a, r.PathValue("id"), func(t storage.Team) (manage.TeamRequest, error) {
		return patchTeam(t, ops)
	})
	return noContentUnless(w, err)
}

func (h *Handler) scimDeleteGroup(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteTeam(r.Context(), a, r.PathValue("id")))
}
