package caddymodule

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// userRoleMap is Palette's v1UserRoleMap: the project roles (uids) a user holds.
type userRoleMap struct {
	UserID string   `json:"userId"`
	Roles  []string `json:"roles"`
}

// teamRoleMap is Palette's v1TeamRoleMap: the project roles (uids) a team holds.
type teamRoleMap struct {
	TeamID string   `json:"teamId"`
	Roles  []string `json:"roles"`
}

// projectGrantsJSON is who holds roles in a project, as in v1ProjectSpec.
type projectGrantsJSON struct {
	Users []userRoleMap `json:"users"`
	Teams []teamRoleMap `json:"teams"`
}

// projectEntity is Palette's v1ProjectEntity, the body of a create and a full update.
type projectEntity struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec projectGrantsJSON `json:"spec"`
}

// projectJSON is Palette's v1Project.
type projectJSON struct {
	Metadata objectMeta        `json:"metadata"`
	Spec     projectGrantsJSON `json:"spec"`
	Status   struct {
		IsDisabled bool `json:"isDisabled"`
	} `json:"status"`
}

func projectMeta(p storage.Project) objectMeta {
	return objectMeta{UID: p.UID, Name: p.Name, Annotations: p.Annotations, CreationTimestamp: timeString(p.CreatedAt)}
}

func projectToJSON(v manage.ProjectView) projectJSON {
	j := projectJSON{Metadata: projectMeta(v.Project)}
	j.Spec.Users, j.Spec.Teams = []userRoleMap{}, []teamRoleMap{}
	for _, g := range v.Grants {
		if g.UserUID != "" {
			j.Spec.Users = append(j.Spec.Users, userRoleMap{UserID: g.UserUID, Roles: nonNil(g.Roles)})
		} else {
			j.Spec.Teams = append(j.Spec.Teams, teamRoleMap{TeamID: g.TeamUID, Roles: nonNil(g.Roles)})
		}
	}
	return j
}

// userGrants and teamGrants are the wire's grants as the service takes them.
func userGrants(users []userRoleMap) []storage.ProjectGrant {
	gs := make([]storage.ProjectGrant, len(users))
	for i, u := range users {
		gs[i] = storage.ProjectGrant{UserUID: u.UserID, Roles: u.Roles}
	}
	return gs
}

func teamGrants(teams []teamRoleMap) []storage.ProjectGrant {
	gs := make([]storage.ProjectGrant, len(teams))
	for i, t := range teams {
		gs[i] = storage.ProjectGrant{TeamUID: t.TeamID, Roles: t.Roles}
	}
	return gs
}

func (b projectEntity) request() manage.ProjectRequest {
	return manage.ProjectRequest{Name: b.Metadata.Name, Annotations: b.Metadata.Annotations, Users: userGrants(b.Spec.Users), Teams: teamGrants(b.Spec.Teams)}
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body projectEntity
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p, err := h.service.CreateProject(r.Context(), a, body.request())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, uidAnswer{UID: p.UID})
}

func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return serveList(w, r, func(limit int, cursor string) ([]manage.ProjectView, string, error) {
		ps, next, err := h.service.ListProjects(r.Context(), a, limit, cursor)
		if err != nil {
			return nil, "", err
		}
		views, err := h.service.ProjectViews(r.Context(), ps)
		return views, next, err
	}, projectToJSON)
}

func (h *Handler) getProject(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	v, err := h.service.GetProject(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectToJSON(v))
}

func (h *Handler) updateProject(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body projectEntity
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	return noContentUnless(w, h.service.UpdateProject(r.Context(), a, r.PathValue("uid"), body.request()))
}

func (h *Handler) putProjectUsers(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body struct {
		Users []userRoleMap `json:"users"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	return noContentUnless(w, h.service.SetProjectUsers(r.Context(), a, r.PathValue("uid"), userGrants(body.Users)))
}

func (h *Handler) putProjectTeams(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body struct {
		Teams []teamRoleMap `json:"teams"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	return noContentUnless(w, h.service.SetProjectTeams(r.Context(), a, r.PathValue("uid"), teamGrants(body.Teams)))
}

func (h *Handler) deleteProject(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteProject(r.Context(), a, r.PathValue("uid")))
}

func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.SetMember(r.Context(), a, r.PathValue("uid"), r.PathValue("userUid"), true))
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.SetMember(r.Context(), a, r.PathValue("uid"), r.PathValue("userUid"), false))
}

// projectMetadata is Palette's v1ProjectMetadata.
type projectMetadata struct {
	Metadata struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"metadata"`
}

// dashboardProjects answers GET /v1/dashboard/projects/metadata: the projects the caller
// may act in; ?name= keeps the one of exactly that name (Palette's SDK looks a project's
// uid up this way).
func (h *Handler) dashboardProjects(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	ps, err := h.service.MyProjects(r.Context(), a)
	if err != nil {
		return err
	}
	items := make([]projectMetadata, 0, len(ps))
	name, byName := r.URL.Query()["name"]
	for _, p := range ps {
		if !byName || p.Name == name[0] {
			var m projectMetadata
			m.Metadata.Name, m.Metadata.UID = p.Name, p.UID
			items = append(items, m)
		}
	}
	return writeJSON(w, http.StatusOK, struct {
		Items []projectMetadata `json:"items"`
	}{items})
}

// projectSummary is Palette's v1ProjectSummary, with the parts Keygate knows.
type projectSummary struct {
	Metadata objectMeta `json:"metadata"`
	Status   struct {
		Status struct {
			IsDisabled bool `json:"isDisabled"`
		} `json:"status"`
	} `json:"status"`
}

// projectsFilterBody is Palette's v1ProjectsFilterSpec. Its filter is read field by field
// so that a field Keygate cannot filter on is refused rather than ignored.
type projectsFilterBody struct {
	Filter map[string]json.RawMessage `json:"filter"`
	Sort   []struct {
		Field string `json:"field"`
		Order string `json:"order"`
	} `json:"sort"`
}

// query is the body as the service's ProjectQuery (without the page).
func (b projectsFilterBody) query() (manage.ProjectQuery, error) {
	var q manage.ProjectQuery
	for field, raw := range b.Filter {
		if field != "name" {
			return q, authcore.BadRequest("filter.%s is not a field projects can be filtered on (only name)", field)
		}
		var f filterString
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return q, authcore.BadRequest("filter.name must be an object of eq, ne, contains, beginsWith and ignoreCase")
		}
		q.Name = f.filter()
	}
	for _, s := range b.Sort {
		q.Sort = append(q.Sort, manage.ProjectSort{Field: s.Field, Order: s.Order})
	}
	return q, nil
}

// filterProjects answers POST /v1/dashboard/projects: the projects the caller may see,
// filtered by name and sorted, paged by ?limit= and ?offset= or ?continue= (the next
// offset, opaque).
func (h *Handler) filterProjects(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body projectsFilterBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	q, err := body.query()
	if err != nil {
		return err
	}
	if q.Limit, q.Offset, err = offsetParams(r); err != nil {
		return err
	}
	ps, total, err := h.service.FilterProjects(r.Context(), a, q)
	if err != nil {
		return err
	}
	items := make([]projectSummary, len(ps))
	for i, p := range ps {
		items[i].Metadata = projectMeta(p)
	}
	limit := cmp.Or(q.Limit, manage.MaxPageSize)
	next := q.Offset + len(items)
	meta := offsetListMeta{Count: total, Limit: limit, Offset: next}
	if next < total {
		meta.Continue = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(next)))
	}
	return writeJSON(w, http.StatusOK, struct {
		Items    []projectSummary `json:"items"`
		ListMeta offsetListMeta   `json:"listmeta"`
	}{items, meta})
}

// offsetListMeta is Palette's v1ListMetaData with its offset: the next one.
type offsetListMeta struct {
	Continue string `json:"continue"`
	Count    int    `json:"count"`
	Limit    int    `json:"limit"`
	Offset   int    `json:"offset"`
}

// offsetParams reads ?limit= and the start: ?continue= (a token this listing returned)
// or else ?offset=.
func offsetParams(r *http.Request) (limit, offset int, err error) {
	limit, cursor, err := listParams(r)
	if err != nil {
		return 0, 0, err
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		n, convErr := strconv.Atoi(string(raw))
		if err != nil || convErr != nil || n < 0 {
			return 0, 0, authcore.BadRequest("continue is not a cursor this listing returned")
		}
		return limit, n, nil
	}
	if s := r.URL.Query().Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, authcore.BadRequest("offset must be a number from 0")
		}
		offset = n
	}
	return limit, offset, nil
}
