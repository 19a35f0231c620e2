package caddymodule

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
)

// usersSummaryBody is Palette's v1UsersSummarySpec.
type usersSummaryBody struct {
	Filter struct {
		EmailID *filterString `json:"emailId"`
		Name    *filterString `json:"name"`
	} `json:"filter"`
	Sort []struct {
		Field string `json:"field"`
		Order string `json:"order"`
	} `json:"sort"`
}

// filterString is Palette's v1FilterString.
type filterString struct {
	Eq         *string `json:"eq"`
	Ne         *string `json:"ne"`
	Contains   *string `json:"contains"`
	BeginsWith *string `json:"beginsWith"`
	IgnoreCase *bool   `json:"ignoreCase"`
}

func (f *filterString) filter() *manage.StringFilter {
	if f == nil {
		return nil
	}
	return &manage.StringFilter{Eq: f.Eq, Ne: f.Ne, Contains: f.Contains, BeginsWith: f.BeginsWith, IgnoreCase: f.IgnoreCase}
}

// userSummaryJSON is Palette's v1UserSummary.
type userSummaryJSON struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		EmailID       string    `json:"emailId"`
		FirstName     string    `json:"firstName"`
		LastName      string    `json:"lastName"`
		Projects      []nameUID `json:"projects"`
		ProjectsCount int       `json:"projectsCount"`
		Roles         []nameUID `json:"roles"`
		Teams         []nameUID `json:"teams"`
	} `json:"spec"`
	Status struct {
		ActivationLink      string `json:"activationLink"`
		IsActive            bool   `json:"isActive"`
		IsPasswordResetting bool   `json:"isPasswordResetting"`
	} `json:"status"`
}

// summaryListMeta is Palette's v1ListMetaData with the offset a summary pages by.
type summaryListMeta struct {
	listMeta
	Offset int `json:"offset"`
}

// usersSummary answers POST /v1/users/summary: the tenant's users filtered by email or
// name, sorted, a page at a time (?limit=, ?offset= or the ?continue= of the last page).
func (h *Handler) usersSummary(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	q, err := summaryQuery(r)
	if err != nil {
		return err
	}
	found, total, err := h.service.UsersSummary(r.Context(), a, q)
	if err != nil {
		return err
	}
	names, err := h.roleNames(r, a)
	if err != nil {
		return err
	}
	links, err := h.activationLinks(r, a)
	if err != nil {
		return err
	}
	items := make([]userSummaryJSON, 0, len(found))
	for _, sum := range found {
		items = append(items, summaryToJSON(sum, names, links))
	}
	meta := summaryListMeta{listMeta: listMeta{Count: total, Limit: q.Limit}, Offset: q.Offset}
	if meta.Limit == 0 {
		meta.Limit = manage.MaxPageSize
	}
	if next := q.Offset + len(items); next < total {
		meta.Continue = strconv.Itoa(next)
	}
	return writeJSON(w, http.StatusOK, struct {
		Items    []userSummaryJSON `json:"items"`
		ListMeta summaryListMeta   `json:"listmeta"`
	}{items, meta})
}

// summaryQuery reads a users summary request: the body (optional; unknown fields are
// refused, so that a filter Keygate does not apply is not silently ignored) and the
// page in the query.
func summaryQuery(r *http.Request) (manage.UserQuery, error) {
	var q manage.UserQuery
	limit, cursor, err := listParams(r)
	if err != nil {
		return q, err
	}
	q.Limit = limit
	if s := r.URL.Query().Get("offset"); s != "" || cursor != "" {
		if cursor != "" {
			s = cursor // the continue of a summary page is the offset of the next
		}
		if q.Offset, err = strconv.Atoi(s); err != nil || q.Offset < 0 {
			return q, authcore.BadRequest("offset (or continue) must be a number from 0")
		}
	}
	if r.ContentLength == 0 {
		return q, nil
	}
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return q, err
	}
	var body usersSummaryBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return q, authcore.BadRequest("the summary request is not a v1UsersSummarySpec: %v", err)
	}
	q.Email, q.Name = body.Filter.EmailID.filter(), body.Filter.Name.filter()
	for i, k := range body.Sort {
		if k.Order != "" && k.Order != "asc" && k.Order != "desc" {
			return q, authcore.BadRequest("sort[%d].order %q is not asc or desc", i, k.Order)
		}
		q.Sort = append(q.Sort, manage.UserSort{Field: manage.UserSortField(k.Field), Desc: k.Order == "desc"})
	}
	return q, nil
}

func summaryToJSON(sum manage.UserSummary, names roleNameIndex, links map[string]string) userSummaryJSON {
	u := sum.User
	var j userSummaryJSON
	j.Metadata = objectMeta{UID: u.UID, Name: u.Email, CreationTimestamp: timeString(u.CreatedAt), LastModifiedTimestamp: timeString(u.UpdatedAt)}
	j.Spec.EmailID, j.Spec.FirstName, j.Spec.LastName = u.Email, u.FirstName, u.LastName
	j.Spec.Roles = names.of(u.Roles)
	j.Spec.Teams = make([]nameUID, 0, len(sum.Teams))
	for _, t := range sum.Teams {
		j.Spec.Teams = append(j.Spec.Teams, nameUID{Name: t.Name, UID: t.UID})
	}
	j.Spec.Projects = make([]nameUID, 0, len(sum.Projects))
	for _, p := range sum.Projects {
		j.Spec.Projects = append(j.Spec.Projects, nameUID{Name: p.Name, UID: p.UID})
	}
	j.Spec.ProjectsCount = len(sum.Projects)
	j.Status.ActivationLink, j.Status.IsActive = links[u.UID], !u.Disabled
	return j
}
