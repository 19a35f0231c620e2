package manage

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// UserProject is a project where a user holds project roles: their own (Roles) and
// those of their teams (InheritedRoles), uids sorted.
type UserProject struct {
	Project        storage.Project
	Roles          []string
	InheritedRoles []string
}

// UserProjects lists the projects where a user of the admin's tenant (or the caller
// themselves) holds project roles, by project name.
func (s *Service) UserProjects(ctx context.Context, a authcore.Actor, uid string) ([]UserProject, error) {
	if _, err := s.selfOrVisibleUser(ctx, a, uid); err != nil {
		return nil, err
	}
	grants, err := s.store.UserProjectGrants(ctx, uid)
	if err != nil {
		return nil, authcore.Unavailable(err)
	}
	byProject := map[string]*UserProject{}
	for _, g := range grants {
		up := byProject[g.ProjectUID]
		if up == nil {
			p, err := s.store.ProjectByUID(ctx, g.ProjectUID)
			if err != nil {
				return nil, notFoundOr(err, "project %s not found", g.ProjectUID)
			}
			up = &UserProject{Project: p}
			byProject[g.ProjectUID] = up
		}
		if g.UserUID != "" {
			up.Roles = storage.SortedSet(append(up.Roles, g.Roles...))
		} else {
			up.InheritedRoles = storage.SortedSet(append(up.InheritedRoles, g.Roles...))
		}
	}
	out := make([]UserProject, 0, len(byProject))
	for _, up := range byProject {
		out = append(out, *up)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Project.Name < out[j].Project.Name })
	return out, nil
}

// SetUserProjects replaces the project roles a user of the admin's tenant holds directly:
// roles names, by project uid, the roles they hold there afterwards, and every project
// not named loses the user's own roles (their teams' stay). One transaction carries
// every project's change and the audit row; the next request with ProjectUid sees it.
func (s *Service) SetUserProjects(ctx context.Context, a authcore.Actor, uid string, roles map[string][]string) error {
	u, err := s.visibleUser(ctx, a, uid)
	if err != nil {
		return err
	}
	for projectUID, rs := range roles {
		if _, err := s.visibleProject(ctx, a, projectUID); err != nil {
			return err
		}
		if err := s.checkRoles(ctx, a, storage.ScopeProject, "projects.roles", rs); err != nil {
			return err
		}
	}
	grants, err := s.store.UserProjectGrants(ctx, uid)
	if err != nil {
		return authcore.Unavailable(err)
	}
	changes := map[string][]string{}
	for _, g := range grants {
		if g.UserUID != "" {
			changes[g.ProjectUID] = nil // removed unless named
		}
	}
	for projectUID, rs := range roles {
		changes[projectUID] = storage.SortedSet(rs)
	}
	projects := slices.Sorted(maps.Keys(changes))
	detail := make([]string, 0, len(projects))
	for _, p := range projects {
		detail = append(detail, p+"="+strings.Join(changes[p], ","))
	}
	err = s.commitFound(ctx, a, "user "+uid, func(tx storage.Tx) (authcore.Audit, error) {
		if _, err := lockVisibleUser(ctx, tx, a, uid); err != nil {
			return authcore.Audit{}, err
		}
		for _, p := range projects {
			if err := tx.SetProjectRoles(ctx, storage.ProjectGrant{ProjectUID: p, UserUID: uid, Roles: changes[p]}); err != nil {
				return authcore.Audit{}, err
			}
		}
		return authcore.Audit{Action: "user.projects", Kind: "user", Target: uid, Detail: u.Email + ": " + strings.Join(detail, " ")}, nil
	})
	if err != nil {
		return err
	}
	for _, p := range projects {
		s.caches.InvalidateMembership(p, uid)
	}
	return nil
}
