package manage

import (
	"context"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// NewTeam describes a team to create in a tenant named by name: members by email, roles
// by uid or name.
type NewTeam struct {
	TenantName string
	Name       string
	Emails     []string
	Roles      []string
}

// TeamEdit is what replaces parts of a team: a nil field stays as it is.
type TeamEdit struct {
	Name   *string
	Emails *[]string
	Roles  *[]string
}

// TeamView is a team with its members and roles as the operator names them.
type TeamView struct {
	Team   storage.Team
	Emails []string // the members' emails, in Team.Users' order
	Roles  []string // the roles' names, in Team.Roles' order
}

// ListTeams lists the teams of the tenant named tenantName, with their members' emails
// and roles' names.
func (o Operator) ListTeams(ctx context.Context, tenantName string) ([]TeamView, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return nil, err
	}
	a := o.in(t.UID)
	teams, err := everyPage(func(limit int, cursor string) ([]storage.Team, string, error) {
		return o.Service.ListTeams(ctx, a, limit, cursor)
	}, nil)
	if err != nil {
		return nil, err
	}
	views := make([]TeamView, 0, len(teams))
	for _, team := range teams {
		v, err := o.teamView(ctx, a, team)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

// CreateTeam creates a team in the tenant nt names.
func (o Operator) CreateTeam(ctx context.Context, nt NewTeam) (TeamView, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), nt.TenantName)
	if err != nil {
		return TeamView{}, err
	}
	a := o.in(t.UID)
	r := TeamRequest{Name: nt.Name}
	if r.Users, err = o.userUIDs(ctx, a, nt.Emails); err != nil {
		return TeamView{}, err
	}
	if r.Roles, err = o.roleUIDs(ctx, a, nt.Roles); err != nil {
		return TeamView{}, err
	}
	team, err := o.Service.CreateTeam(ctx, a, r)
	if err != nil {
		return TeamView{}, err
	}
	return o.teamView(ctx, a, team)
}

// SetTeam replaces a team's name, members or roles, as e says.
func (o Operator) SetTeam(ctx context.Context, uid string, e TeamEdit) (TeamView, error) {
	a, team, err := o.team(ctx, uid)
	if err != nil {
		return TeamView{}, err
	}
	r := TeamRequest{Name: team.Name, Users: team.Users, Roles: team.Roles}
	if e.Name != nil {
		r.Name = *e.Name
	}
	if e.Emails != nil {
		if r.Users, err = o.userUIDs(ctx, a, *e.Emails); err != nil {
			return TeamView{}, err
		}
	}
	if e.Roles != nil {
		if r.Roles, err = o.roleUIDs(ctx, a, *e.Roles); err != nil {
			return TeamView{}, err
		}
	}
	if team, err = o.Service.ReplaceTeam(ctx, a, uid, r); err != nil {
		return TeamView{}, err
	}
	return o.teamView(ctx, a, team)
}

// DeleteTeam deletes a team with its memberships and project grants.
func (o Operator) DeleteTeam(ctx context.Context, uid string) error {
	a, _, err := o.team(ctx, uid)
	if err != nil {
		return err
	}
	return o.Service.DeleteTeam(ctx, a, uid)
}

// ListRoles lists the roles of the tenant named tenantName: built-in, then custom.
func (o Operator) ListRoles(ctx context.Context, tenantName string) ([]storage.RoleDef, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return nil, err
	}
	return o.Service.ListRoles(ctx, o.in(t.UID))
}

// CreateRole adds a custom role to the tenant named tenantName.
func (o Operator) CreateRole(ctx context.Context, tenantName string, r RoleRequest) (storage.RoleDef, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return storage.RoleDef{}, err
	}
	return o.Service.CreateRole(ctx, o.in(t.UID), r)
}

// team reads a team, and the operator acting in its tenant.
func (o Operator) team(ctx context.Context, uid string) (authcore.Actor, storage.Team, error) {
	t, err := o.Service.store.TeamByUID(ctx, uid)
	if err != nil {
		return authcore.Actor{}, t, authcore.StoreError(err, "team "+uid)
	}
	return o.in(t.TenantUID), t, nil
}

// userUIDs finds the users with these emails in the actor's tenant.
func (o Operator) userUIDs(ctx context.Context, a authcore.Actor, emails []string) ([]string, error) {
	uids := make([]string, 0, len(emails))
	for _, email := range emails {
		users, err := o.Service.store.UsersByEmail(ctx, strings.ToLower(email))
		if err != nil {
			return nil, authcore.Unavailable(err)
		}
		found := ""
		for _, u := range users {
			if u.TenantUID == a.TenantUID {
				found = u.UID
			}
		}
		if found == "" {
			return nil, authcore.NotFound("user %s not found in the team's tenant", email)
		}
		uids = append(uids, found)
	}
	return uids, nil
}

// roleUIDs finds the roles named by uid or (in any case) by name in the actor's tenant.
func (o Operator) roleUIDs(ctx context.Context, a authcore.Actor, names []string) ([]string, error) {
	roles, err := o.Service.ListRoles(ctx, a)
	if err != nil {
		return nil, err
	}
	uids := make([]string, 0, len(names))
next:
	for _, n := range names {
		for _, r := range roles {
			if r.UID == n || strings.EqualFold(r.Name, n) {
				uids = append(uids, r.UID)
				continue next
			}
		}
		return nil, authcore.NotFound("role %s not found", n)
	}
	return uids, nil
}

// teamView names a team's members and roles.
func (o Operator) teamView(ctx context.Context, a authcore.Actor, t storage.Team) (TeamView, error) {
	v := TeamView{Team: t}
	for _, uid := range t.Users {
		u, err := o.Service.store.UserByUID(ctx, uid)
		if err != nil {
			return v, authcore.StoreError(err, "user "+uid)
		}
		v.Emails = append(v.Emails, u.Email)
	}
	roles, err := o.Service.ListRoles(ctx, a)
	if err != nil {
		return v, err
	}
	for _, uid := range t.Roles {
		for _, r := range roles {
			if r.UID == uid {
				v.Roles = append(v.Roles, r.Name)
			}
		}
	}
	return v, nil
}
