package manage

import (
	"context"
	"slices"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// TeamRequest is a team to create, or what replaces one: its name, members (user uids)
// and tenant roles (role uids).
type TeamRequest struct {
	Name  string
	Users []string
	Roles []string
	// ExternalID, when set, is the identity provider's id of the team (SCIM's
	// externalId), recorded in the change's transaction; "" forgets it.
	ExternalID *string
}

// ListTeams lists the tenant's teams for admins; other users see the teams they are in
// (as they see their own projects), so that they can tell where their roles come from.
func (s *Service) ListTeams(ctx context.Context, a authcore.Actor, limit int, cursor string) ([]storage.Team, string, error) {
	pg, err := page(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if a.IsTenantAdmin() {
		teams, next, err := s.store.ListTeams(ctx, a.TenantUID, pg)
		return teams, next, listError(err)
	}
	mine, err := s.myTeams(ctx, a)
	if err != nil {
		return nil, "", err
	}
	return pageOf(mine, func(t storage.Team) string { return t.UID }, pg)
}

// myTeams reads the teams the caller is a member of, oldest first as the store lists.
func (s *Service) myTeams(ctx context.Context, a authcore.Actor) ([]storage.Team, error) {
	u, err := s.Me(ctx, a)
	if err != nil {
		return nil, err
	}
	teams := make([]storage.Team, 0, len(u.Teams))
	for _, uid := range u.Teams {
		t, err := s.store.TeamByUID(ctx, uid)
		if authcore.IsNotFound(err) { // deleted since the user was read
			continue
		}
		if err != nil {
			return nil, authcore.Unavailable(err)
		}
		teams = append(teams, t)
	}
	slices.SortFunc(teams, func(x, y storage.Team) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.UID, y.UID)
	})
	return teams, nil
}

// GetTeam reads a team: any of the tenant's for admins, one they are in for other users;
// else 404.
func (s *Service) GetTeam(ctx context.Context, a authcore.Actor, uid string) (storage.Team, error) {
	t, err := s.store.TeamByUID(ctx, uid)
	if err != nil || t.TenantUID != a.TenantUID || !a.IsTenantAdmin() && !slices.Contains(t.Users, a.UserUID) {
		return storage.Team{}, notFoundOr(err, "team %s not found", uid)
	}
	return t, nil
}

// CreateTeam adds a team to the admin's tenant. Its members' new roles hold on their
// very next request.
func (s *Service) CreateTeam(ctx context.Context, a authcore.Actor, r TeamRequest) (storage.Team, error) {
	if err := requireAdmin(a); err != nil {
		return storage.Team{}, err
	}
	r, err := s.checkTeam(ctx, a, r)
	if err != nil {
		return storage.Team{}, err
	}
	keys, err := s.memberKeys(ctx, a, r.Users)
	if err != nil {
		return storage.Team{}, err
	}
	now := s.clock()
	t := storage.Team{UID: authcore.NewUID(), TenantUID: a.TenantUID, Name: r.Name, Users: r.Users, Roles: r.Roles, CreatedAt: now, UpdatedAt: now}
	ev := authcore.Audit{Action: "team.create", Kind: "team", Target: t.UID, Detail: teamDetail(t)}
	err = s.commit(ctx, a, "team "+r.Name, ev, func(tx storage.Tx) error {
		if err := tx.CreateTeam(ctx, t); err != nil {
			return err
		}
		return setExternalID(ctx, tx, storage.ExternalTeam, t.UID, r.ExternalID)
	})
	if err != nil {
		return storage.Team{}, err
	}
	s.dropTeamMembers(keys, nil)
	return t, nil
}

// ReplaceTeam replaces a team's name, members and roles. The change is refused (409
// LastTenantAdmin) when it would leave the tenant without an enabled Tenant Admin, and
// holds on the very next request of everyone it adds, removes or changes roles for.
func (s *Service) ReplaceTeam(ctx context.Context, a authcore.Actor, uid string, r TeamRequest) (storage.Team, error) {
	return s.EditTeam(ctx, a, uid, func(storage.Team) (TeamRequest, error) { return r, nil })
}

// EditTeam is ReplaceTeam with what replaces the team computed by edit from the team as
// it is: edit runs once on a first read, to check its result before any write, and again
// on the team read locked inside the transaction, so that two edits adding members (as
// identity providers send them, concurrently) cannot undo each other. A member the second
// run adds is checked by the store.
func (s *Service) EditTeam(ctx context.Context, a authcore.Actor, uid string, edit func(storage.Team) (TeamRequest, error)) (storage.Team, error) {
	before, err := s.adminTeam(ctx, a, uid)
	if err != nil {
		return before, err
	}
	r, err := edit(before)
	if err != nil {
		return before, err
	}
	if r, err = s.checkTeam(ctx, a, r); err != nil {
		return before, err
	}
	keys, err := s.memberKeys(ctx, a, before.Users, r.Users)
	if err != nil {
		return before, err
	}
	var was storage.Team
	err = s.commitFound(ctx, a, "team "+r.Name, func(tx storage.Tx) (authcore.Audit, error) {
		if was, err = lockVisibleTeam(ctx, tx, a, uid); err != nil {
			return authcore.Audit{}, err
		}
		if r, err = edit(was); err != nil {
			return authcore.Audit{}, err
		}
		next := was
		next.Name, next.Users, next.Roles = r.Name, storage.SortedSet(r.Users), storage.SortedSet(r.Roles)
		if err := tx.UpdateTeam(ctx, next); err != nil {
			return authcore.Audit{}, err
		}
		if err := setExternalID(ctx, tx, storage.ExternalTeam, uid, r.ExternalID); err != nil {
			return authcore.Audit{}, err
		}
		ev := authcore.Audit{Action: "team.update", Kind: "team", Target: uid, Detail: teamDetail(next)}
		return ev, keepsSomeAdmin(ctx, tx, a.TenantUID)
	})
	if err != nil {
		return before, err
	}
	s.dropTeamMembers(keys, slices.Concat(was.Users, r.Users)) // r: the second run's
	return s.GetTeam(ctx, a, uid)
}

// SetTeamRoles replaces only a team's tenant roles (Palette's PUT /v1/teams/{uid}/roles).
func (s *Service) SetTeamRoles(ctx context.Context, a authcore.Actor, uid string, roles []string) (storage.Team, error) {
	t, err := s.adminTeam(ctx, a, uid)
	if err != nil {
		return t, err
	}
	return s.ReplaceTeam(ctx, a, uid, TeamRequest{Name: t.Name, Users: t.Users, Roles: roles})
}

// DeleteTeam deletes a team with its memberships and project grants, unless its members
// would leave the tenant without an enabled Tenant Admin.
func (s *Service) DeleteTeam(ctx context.Context, a authcore.Actor, uid string) error {
	t, err := s.adminTeam(ctx, a, uid)
	if err != nil {
		return err
	}
	keys, err := s.memberKeys(ctx, a, t.Users)
	if err != nil {
		return err
	}
	var was storage.Team
	err = s.commitFound(ctx, a, "team "+uid, func(tx storage.Tx) (authcore.Audit, error) {
		var err error
		if was, err = lockVisibleTeam(ctx, tx, a, uid); err != nil {
			return authcore.Audit{}, err
		}
		if err := tx.DeleteTeam(ctx, uid); err != nil {
			return authcore.Audit{}, err
		}
		return authcore.Audit{Action: "team.delete", Kind: "team", Target: uid, Detail: was.Name}, keepsSomeAdmin(ctx, tx, a.TenantUID)
	})
	if err != nil {
		return err
	}
	s.dropTeamMembers(keys, was.Users)
	return nil
}

// adminTeam loads a team of the admin's tenant, or refuses.
func (s *Service) adminTeam(ctx context.Context, a authcore.Actor, uid string) (storage.Team, error) {
	if err := requireAdmin(a); err != nil {
		return storage.Team{}, err
	}
	return s.GetTeam(ctx, a, uid)
}

// lockVisibleTeam reads a team of the actor's tenant inside tx; else ErrNotFound. The
// store's UpdateTeam and DeleteTeam lock it.
func lockVisibleTeam(ctx context.Context, tx storage.Tx, a authcore.Actor, uid string) (storage.Team, error) {
	t, err := tx.TeamByUID(ctx, uid)
	if err == nil && t.TenantUID != a.TenantUID {
		err = storage.ErrNotFound
	}
	return t, err
}

// checkTeam checks a team's name, members and roles before any write, so that a bad
// one answers with what is wrong: members must be users of the tenant and roles its
// tenant-scope ones (the store checks both again inside the transaction).
func (s *Service) checkTeam(ctx context.Context, a authcore.Actor, r TeamRequest) (TeamRequest, error) {
	if err := authcore.CheckName("metadata.name", r.Name); err != nil {
		return r, err
	}
	if err := checkExternalID(r.ExternalID); err != nil {
		return r, err
	}
	r.Users, r.Roles = storage.SortedSet(r.Users), storage.SortedSet(r.Roles)
	for _, uid := range r.Users {
		u, err := s.store.UserByUID(ctx, uid)
		if err != nil || u.TenantUID != a.TenantUID {
			return r, notFoundOr(err, "spec.users: user %s not found", uid)
		}
	}
	return r, s.checkRoles(ctx, a, storage.ScopeTenant, "spec.roles", r.Roles)
}

// memberKeys reads the keys of the users a team change touches, before the change, so
// that their cached decisions can be dropped after it without another store read.
func (s *Service) memberKeys(ctx context.Context, a authcore.Actor, users ...[]string) (map[string][]storage.APIKey, error) {
	keys := map[string][]storage.APIKey{}
	for _, uid := range storage.SortedSet(slices.Concat(users...)) {
		k, err := userKeyRecords(ctx, s.store, storage.User{UID: uid, TenantUID: a.TenantUID})
		if err != nil {
			return nil, err
		}
		keys[uid] = k
	}
	return keys, nil
}

// dropTeamMembers drops the cached decisions of the users a team change touched, so that
// it holds on their very next request on this node (other nodes follow the change feed).
// A member found only inside the transaction has their record dropped, and their keys
// through the feed. Project decisions are all dropped: the team may hold project roles,
// and team changes are rare.
func (s *Service) dropTeamMembers(keys map[string][]storage.APIKey, users []string) {
	for _, uid := range users {
		if _, ok := keys[uid]; !ok {
			keys[uid] = nil
		}
	}
	for uid, k := range keys {
		s.caches.InvalidateUserAndKeys(uid, k)
	}
	if len(keys) > 0 {
		s.caches.InvalidateProjects()
	}
}

// teamDetail is a team's audit detail: its name, members and roles.
func teamDetail(t storage.Team) string {
	return t.Name + ": users " + strings.Join(storage.SortedSet(t.Users), ",") + "; roles " + strings.Join(storage.SortedSet(t.Roles), ",")
}
