package manage

import (
	"context"
	"encoding/base64"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// ProjectView is a project with its members' uids.
type ProjectView struct {
	Project storage.Project
	Members []string
}

// CreateProject adds a project to the admin's tenant.
func (s *Service) CreateProject(ctx context.Context, a authcore.Actor, name string) (storage.Project, error) {
	if err := requireAdmin(a); err != nil {
		return storage.Project{}, err
	}
	if err := authcore.CheckName("metadata.name", name); err != nil {
		return storage.Project{}, err
	}
	p := storage.Project{UID: authcore.NewUID(), TenantUID: a.TenantUID, Name: name, CreatedAt: s.clock()}
	err := s.commit(ctx, a, "project "+name, authcore.Audit{Action: "project.create", Kind: "project", Target: p.UID, Detail: name}, func(tx storage.Tx) error {
		return tx.CreateProject(ctx, p)
	})
	return p, err
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

// GetProject reads a project with its members.
func (s *Service) GetProject(ctx context.Context, a authcore.Actor, uid string) (ProjectView, error) {
	p, err := s.visibleProject(ctx, a, uid)
	if err != nil {
		return ProjectView{}, err
	}
	members, err := s.store.ProjectMembers(ctx, uid)
	if err != nil {
		return ProjectView{}, authcore.StoreError(err, "project "+uid)
	}
	return ProjectView{Project: p, Members: members}, nil
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
