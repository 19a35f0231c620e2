package manage

import (
	"cmp"
	"context"
	"slices"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// UserSortField is what a users summary sorts by.
type UserSortField string

// The fields a users summary sorts by, as Palette names them.
const (
	SortByName     UserSortField = "name"
	SortByCreation UserSortField = "creationTimestamp"
)

// UserSort is one sort key of a users summary.
type UserSort struct {
	Field UserSortField
	Desc  bool
}

// UserQuery selects a page of the tenant's users. Name filters a user's name, which in
// Keygate is their email (metadata.name). Without Sort, users come oldest first.
type UserQuery struct {
	Email, Name   *StringFilter
	Sort          []UserSort
	Offset, Limit int // Limit 0: MaxPageSize
}

// UserSummary is a user with the names of their teams and of the projects where they
// hold roles (their own or their teams').
type UserSummary struct {
	User     storage.User
	Teams    []storage.Team
	Projects []storage.Project
}

// UsersSummary answers a tenant admin's query over the tenant's users: the page asked
// for, and how many users match in all.
func (s *Service) UsersSummary(ctx context.Context, a authcore.Actor, q UserQuery) ([]UserSummary, int, error) {
	if err := requireAdmin(a); err != nil {
		return nil, 0, err
	}
	if q.Offset < 0 || q.Limit < 0 || q.Limit > MaxPageSize {
		return nil, 0, authcore.BadRequest("offset must be at least 0 and limit from 0 to %d", MaxPageSize)
	}
	for _, k := range q.Sort {
		if k.Field != SortByName && k.Field != SortByCreation {
			return nil, 0, authcore.BadRequest("sort field %q is not %s or %s", k.Field, SortByName, SortByCreation)
		}
	}
	users, err := s.allUsers(ctx, a)
	if err != nil {
		return nil, 0, err
	}
	users = slices.DeleteFunc(users, func(u storage.User) bool { return !q.Email.Match(u.Email) || !q.Name.Match(u.Email) })
	slices.SortStableFunc(users, func(x, y storage.User) int { return compareUsers(q.Sort, x, y) })
	total := len(users)
	if q.Limit == 0 {
		q.Limit = MaxPageSize
	}
	page := users[min(q.Offset, total):min(q.Offset+q.Limit, total)]
	out := make([]UserSummary, 0, len(page))
	teams := map[string]storage.Team{}
	for _, u := range page {
		sum, err := s.summarise(ctx, u, teams)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, sum)
	}
	return out, total, nil
}

// compareUsers orders two users by the sort keys, in turn.
func compareUsers(keys []UserSort, x, y storage.User) int {
	for _, k := range keys {
		c := cmp.Compare(x.Email, y.Email)
		if k.Field == SortByCreation {
			c = x.CreatedAt.Compare(y.CreatedAt)
		}
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// AllUsers is every user of the admin's tenant, oldest first, in one answer.
func (s *Service) AllUsers(ctx context.Context, a authcore.Actor) ([]storage.User, error) {
	if err := requireAdmin(a); err != nil {
		return nil, err
	}
	return s.allUsers(ctx, a)
}

// allUsers is every user of the actor's tenant, oldest first.
func (s *Service) allUsers(ctx context.Context, a authcore.Actor) ([]storage.User, error) {
	var all []storage.User
	for cursor := ""; ; {
		users, next, err := s.store.ListUsers(ctx, a.TenantUID, storage.Page{Limit: MaxPageSize, After: cursor})
		if err != nil {
			return nil, authcore.Unavailable(err)
		}
		all = append(all, users...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

// summarise adds the user's teams (looked up once per query in teams) and projects.
func (s *Service) summarise(ctx context.Context, u storage.User, teams map[string]storage.Team) (UserSummary, error) {
	sum := UserSummary{User: u}
	for _, uid := range u.Teams {
		t, ok := teams[uid]
		if !ok {
			var err error
			if t, err = s.store.TeamByUID(ctx, uid); err != nil {
				return sum, authcore.StoreError(err, "team "+uid)
			}
			teams[uid] = t
		}
		sum.Teams = append(sum.Teams, t)
	}
	grants, err := s.store.UserProjectGrants(ctx, u.UID)
	if err != nil {
		return sum, authcore.Unavailable(err)
	}
	seen := map[string]bool{}
	for _, g := range grants {
		if seen[g.ProjectUID] {
			continue
		}
		seen[g.ProjectUID] = true
		p, err := s.store.ProjectByUID(ctx, g.ProjectUID)
		if err != nil {
			return sum, authcore.StoreError(err, "project "+g.ProjectUID)
		}
		sum.Projects = append(sum.Projects, p)
	}
	slices.SortFunc(sum.Projects, func(x, y storage.Project) int { return cmp.Compare(x.Name, y.Name) })
	return sum, nil
}
