package manage

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// ProjectView is a project with who holds roles in it.
type ProjectView struct {
	Project storage.Project
	Members []string               // users holding project roles there directly
	Grants  []storage.ProjectGrant // users' grants first, then teams', each by uid
}

// ProjectRequest is what a create or a full update of a project says: its name,
// annotations and the project roles its users and teams hold.
type ProjectRequest struct {
	Name        string
	Annotations map[string]string
	Users       []storage.ProjectGrant // UserUID and Roles set
	Teams       []storage.ProjectGrant // TeamUID and Roles set
}

// CreateProject adds a project to the admin's tenant with its grants, in the one
// transaction that writes its audit row.
func (s *Service) CreateProject(ctx context.Context, a authcore.Actor, req ProjectRequest) (storage.Project, error) {
	if err := requireAdmin(a); err != nil {
		return storage.Project{}, err
	}
	if err := checkProjectMeta(req); err != nil {
		return storage.Project{}, err
	}
	if err := s.checkGrants(ctx, a, req.Users, req.Teams); err != nil {
		return storage.Project{}, err
	}
	p := storage.Project{UID: authcore.NewUID(), TenantUID: a.TenantUID, Name: req.Name, Annotations: req.Annotations, CreatedAt: s.clock()}
	ev := authcore.Audit{Action: "project.create", Kind: "project", Target: p.UID, Detail: req.Name + grantsDetail(req.Users, req.Teams)}
	err := s.commit(ctx, a, "project "+req.Name, ev, func(tx storage.Tx) error {
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		return grantAll(ctx, tx, p.UID, req.Users, req.Teams)
	})
	if err == nil && len(req.Users)+len(req.Teams) > 0 {
		s.caches.InvalidateProjects()
	}
	return p, err
}

// UpdateProject replaces a project's name, annotations and every grant in it (Palette's
// PUT /v1/projects/{uid}): grants not listed are removed, in one transaction.
func (s *Service) UpdateProject(ctx context.Context, a authcore.Actor, uid string, req ProjectRequest) error {
	if err := checkProjectMeta(req); err != nil {
		return err
	}
	return s.replaceGrants(ctx, a, uid, "project.update", req, true, true)
}

// SetProjectUsers replaces the project roles users hold directly in the project.
func (s *Service) SetProjectUsers(ctx context.Context, a authcore.Actor, uid string, users []storage.ProjectGrant) error {
	return s.replaceGrants(ctx, a, uid, "project.users", ProjectRequest{Users: users}, true, false)
}

// SetProjectTeams replaces the project roles teams hold in the project.
func (s *Service) SetProjectTeams(ctx context.Context, a authcore.Actor, uid string, teams []storage.ProjectGrant) error {
	return s.replaceGrants(ctx, a, uid, "project.teams", ProjectRequest{Teams: teams}, false, true)
}

// replaceGrants replaces the user grants (users), the team grants (teams) and, when
// req.Name is set, the name and annotations of a project, with the audit row, in one
// transaction.
func (s *Service) replaceGrants(ctx context.Context, a authcore.Actor, uid, action string, req ProjectRequest, users, teams bool) error {
	if err := requireAdmin(a); err != nil {
		return err
	}
	if _, err := s.visibleProject(ctx, a, uid); err != nil {
		return err
	}
	if err := s.checkGrants(ctx, a, req.Users, req.Teams); err != nil {
		return err
	}
	ev := authcore.Audit{Action: action, Kind: "project", Target: uid, Detail: req.Name + grantsDetail(req.Users, req.Teams)}
	err := s.commit(ctx, a, "project "+uid, ev, func(tx storage.Tx) error {
		if req.Name != "" {
			if err := tx.UpdateProject(ctx, uid, req.Name, req.Annotations); err != nil {
				return err
			}
		}
		held, err := tx.ProjectGrants(ctx, uid)
		if err != nil {
			return err
		}
		for _, g := range held {
			if (g.UserUID != "" && users && !grants(req.Users, g)) || (g.TeamUID != "" && teams && !grants(req.Teams, g)) {
				if err := tx.SetProjectRoles(ctx, storage.ProjectGrant{ProjectUID: uid, UserUID: g.UserUID, TeamUID: g.TeamUID}); err != nil {
					return err
				}
			}
		}
		return grantAll(ctx, tx, uid, req.Users, req.Teams)
	})
	if err == nil {
		s.caches.InvalidateProjects()
	}
	return err
}

// maxAnnotations bounds a project's annotations, which every read returns.
const maxAnnotations = 64

// checkProjectMeta refuses a name or annotations a project cannot have, naming the field.
func checkProjectMeta(req ProjectRequest) error {
	if err := authcore.CheckName("metadata.name", req.Name); err != nil {
		return err
	}
	if len(req.Annotations) > maxAnnotations {
		return authcore.BadRequest("metadata.annotations may hold at most %d entries", maxAnnotations)
	}
	for k, v := range req.Annotations {
		if err := authcore.CheckName("metadata.annotations key", k); err != nil {
			return err
		}
		if len(v) > 1024 {
			return authcore.BadRequest("metadata.annotations[%q] must be at most 1024 bytes", k)
		}
	}
	return nil
}

// grants reports whether list names g's subject.
func grants(list []storage.ProjectGrant, g storage.ProjectGrant) bool {
	return slices.ContainsFunc(list, func(w storage.ProjectGrant) bool { return w.UserUID == g.UserUID && w.TeamUID == g.TeamUID })
}

// grantAll sets each grant in the project; a subject the store does not find in the
// project's tenant is a 404 naming the field.
func grantAll(ctx context.Context, tx storage.Tx, projectUID string, lists ...[]storage.ProjectGrant) error {
	for k, list := range lists {
		for i, g := range list {
			g.ProjectUID = projectUID
			if err := tx.SetProjectRoles(ctx, g); err != nil {
				if authcore.IsNotFound(err) {
					field, subject := grantField(k, i), g.UserUID+g.TeamUID
					return authcore.NotFound("%s: %s not found in this tenant", field, subject)
				}
				return err
			}
		}
	}
	return nil
}

// grantField names the i-th grant of list k (0 users, 1 teams) in a request body.
func grantField(k, i int) string {
	if k == 0 {
		return fmt.Sprintf("spec.users[%d].userId", i)
	}
	return fmt.Sprintf("spec.teams[%d].teamId", i)
}

// checkGrants refuses grants naming no subject or one twice, and roles that are not
// project roles of the tenant, naming the field; it sorts each grant's roles.
func (s *Service) checkGrants(ctx context.Context, a authcore.Actor, users, teams []storage.ProjectGrant) error {
	if len(users)+len(teams) == 0 {
		return nil
	}
	roles, err := s.ListRoles(ctx, a)
	if err != nil {
		return err
	}
	for k, list := range [][]storage.ProjectGrant{users, teams} {
		seen := map[string]bool{}
		for i := range list {
			g := &list[i]
			subject, field := g.UserUID+g.TeamUID, grantField(k, i)
			switch {
			case !authcore.PlausibleUID(subject):
				return authcore.BadRequest("%s must be a uid", field)
			case seen[subject]:
				return authcore.BadRequest("%s: %s is listed twice", field, subject)
			}
			seen[subject] = true
			for j, r := range g.Roles {
				if !slices.ContainsFunc(roles, func(d storage.RoleDef) bool { return d.UID == r && d.Scope == storage.ScopeProject }) {
					return authcore.BadRequest("%s roles[%d]: %q is not a project role of this tenant", field, j, r)
				}
			}
			slices.Sort(g.Roles)
			g.Roles = slices.Compact(g.Roles)
		}
	}
	return nil
}

// grantsDetail is the audit detail of a change of grants: who gets which roles.
func grantsDetail(users, teams []storage.ProjectGrant) string {
	var b strings.Builder
	for _, g := range append(slices.Clone(users), teams...) {
		fmt.Fprintf(&b, " %s=%s", g.UserUID+g.TeamUID, strings.Join(g.Roles, ","))
	}
	return b.String()
}

// visibleProject loads a project the actor may see: any of the tenant's for admins, their
// own projects for users; else 404.
func (s *Service) visibleProject(ctx context.Context, a authcore.Actor, uid string) (storage.Project, error) {
	p, err := s.store.ProjectByUID(ctx, uid)
	if err != nil || p.TenantUID != a.TenantUID {
		return storage.Project{}, notFoundOr(err, "project %s not found", uid)
	}
	if !a.IsTenantAdmin() {
		access, err := s.store.ProjectAccess(ctx, uid, a.UserUID)
		if err != nil || !access.Member {
			return storage.Project{}, notFoundOr(err, "project %s not found", uid)
		}
	}
	return p, nil
}

// GetProject reads a project with its grants.
func (s *Service) GetProject(ctx context.Context, a authcore.Actor, uid string) (ProjectView, error) {
	p, err := s.visibleProject(ctx, a, uid)
	if err != nil {
		return ProjectView{}, err
	}
	return s.projectView(ctx, p)
}

// ProjectViews adds their grants to projects the actor was allowed to list.
func (s *Service) ProjectViews(ctx context.Context, ps []storage.Project) ([]ProjectView, error) {
	views := make([]ProjectView, 0, len(ps))
	for _, p := range ps {
		v, err := s.projectView(ctx, p)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

func (s *Service) projectView(ctx context.Context, p storage.Project) (ProjectView, error) {
	gs, err := s.store.ProjectGrants(ctx, p.UID)
	if err != nil {
		return ProjectView{}, authcore.StoreError(err, "project "+p.UID)
	}
	v := ProjectView{Project: p, Grants: gs, Members: []string{}}
	for _, g := range gs {
		if g.UserUID != "" {
			v.Members = append(v.Members, g.UserUID)
		}
	}
	return v, nil
}

// ListProjects lists the tenant's projects for admins, the caller's own for users.
func (s *Service) ListProjects(ctx context.Context, a authcore.Actor, limit int, cursor string) ([]storage.Project, string, error) {
	pg, err := page(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if !a.IsTenantAdmin() {
		ps, err := s.MyProjects(ctx, a)
		if err != nil {
			return nil, "", err
		}
		return pageOf(ps, func(p storage.Project) string { return p.UID }, pg)
	}
	ps, next, err := s.store.ListProjects(ctx, a.TenantUID, pg)
	return ps, next, listError(err)
}

// MyProjects lists the projects the caller may act in: for admins every project of the
// tenant, for users those they are a member of.
func (s *Service) MyProjects(ctx context.Context, a authcore.Actor) ([]storage.Project, error) {
	if !a.IsTenantAdmin() {
		ps, err := s.store.UserProjects(ctx, a.UserUID)
		if err != nil {
			return nil, authcore.Unavailable(err)
		}
		return ps, nil
	}
	var all []storage.Project
	cursor := ""
	for {
		ps, next, err := s.store.ListProjects(ctx, a.TenantUID, storage.Page{Limit: MaxPageSize, After: cursor})
		if err != nil {
			return nil, authcore.Unavailable(err)
		}
		all = append(all, ps...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

// DeleteProject deletes a project and its memberships.
func (s *Service) DeleteProject(ctx context.Context, a authcore.Actor, uid string) error {
	if err := requireAdmin(a); err != nil {
		return err
	}
	p, err := s.visibleProject(ctx, a, uid)
	if err != nil {
		return err
	}
	err = s.commit(ctx, a, "project "+uid, authcore.Audit{Action: "project.delete", Kind: "project", Target: uid, Detail: p.Name}, func(tx storage.Tx) error {
		return tx.DeleteProject(ctx, uid)
	})
	if err == nil {
		s.caches.InvalidateProjects()
	}
	return err
}

// SetMember adds (member true) or removes a user from a project. Adding a member again
// is not an error.
func (s *Service) SetMember(ctx context.Context, a authcore.Actor, projectUID, userUID string, member bool) error {
	if err := requireAdmin(a); err != nil {
		return err
	}
	if _, err := s.visibleProject(ctx, a, projectUID); err != nil {
		return err
	}
	if _, err := s.visibleUser(ctx, a, userUID); err != nil {
		return err
	}
	ev := authcore.Audit{Action: "membership.add", Kind: "membership", Target: storage.MembershipRef(projectUID, userUID), Detail: ""}
	change := func(tx storage.Tx) error { return tx.AddProjectMember(ctx, projectUID, userUID) }
	if !member {
		ev.Action = "membership.remove"
		change = func(tx storage.Tx) error { return tx.RemoveProjectMember(ctx, projectUID, userUID) }
	}
	err := s.commit(ctx, a, "membership of "+userUID+" in "+projectUID, ev, change)
	if err == nil {
		s.caches.InvalidateMembership(projectUID, userUID)
	}
	return err
}

// ListAudit lists the tenant's audit events, newest first.
func (s *Service) ListAudit(ctx context.Context, a authcore.Actor, limit int, cursor string) ([]storage.AuditEvent, string, error) {
	return adminListing(a, limit, cursor, func(p storage.Page) ([]storage.AuditEvent, string, error) {
		return s.store.ListAudit(ctx, a.TenantUID, p)
	})
}

// adminListing serves a tenant admin one page of a listing of the whole tenant.
func adminListing[T any](a authcore.Actor, limit int, cursor string, list func(storage.Page) ([]T, string, error)) ([]T, string, error) {
	if err := requireAdmin(a); err != nil {
		return nil, "", err
	}
	p, err := page(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	items, next, err := list(p)
	return items, next, listError(err)
}

// pageOf pages a short list held in memory (a user's own projects) the way the store
// pages its listings: an opaque cursor naming the last item returned.
func pageOf[T any](items []T, id func(T) string, p storage.Page) ([]T, string, error) {
	start := 0
	if p.After != "" {
		raw, err := base64.RawURLEncoding.DecodeString(p.After)
		start = -1
		for i, it := range items {
			if err == nil && id(it) == string(raw) {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, "", authcore.BadRequest("continue is not a cursor this listing returned")
		}
	}
	end := min(start+p.Limit, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(id(items[end-1])))
	}
	return items[start:end], next, nil
}
