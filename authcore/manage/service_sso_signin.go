package manage

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/sso"
	"github.com/keygate/keygate/storage"
)

// SSO sign-in refusals: who the provider vouched for is not someone this tenant lets in.
var (
	errSSODisabled = &authcore.Error{Status: http.StatusForbidden, Code: "SSOUserDisabled",
		Message: "this account is disabled; ask a tenant admin"}
	errSSONoAccount = &authcore.Error{Status: http.StatusForbidden, Code: "SSOUserUnknown",
		Message: "there is no account for this user in the organization, and the organization does not create them at sign-in; ask a tenant admin"}
	errSSONoLink = &authcore.Error{Status: http.StatusForbidden, Code: "SSOLinkRefused",
		Message: "an account with this email exists, and the organization does not let single sign-on sign in to it; ask a tenant admin"}
)

// ssoActorName names the identity provider in the audit log.
const ssoActorName = "oidc"

// SSOSignIn is the user the provider's identity signs in as in c's tenant: the user
// linked to it; else the user with its verified email, when the tenant links them; else
// a new user, when the tenant creates them. Their team memberships are then set from the
// identity's groups (teams of the same name; with SyncTeams, unknown groups become
// teams) and the tenant's default teams, so that what the provider says holds from this
// sign-in on. One transaction carries it all, audited with the provider as actor; the
// user's cached decisions are dropped when their teams changed.
func (s *Service) SSOSignIn(ctx context.Context, c sso.Config, id sso.Identity, ip string) (storage.User, error) {
	a := authcore.IdentityProviderIn(c.TenantUID, ssoActorName)
	a.IP = ip
	teams, err := s.tenantTeams(ctx, c.TenantUID)
	if err != nil {
		return storage.User{}, err
	}
	plan := planTeams(c, id.Groups, teams)
	var u storage.User
	var changed bool
	err = s.commitFound(ctx, a, "user "+id.Email, func(tx storage.Tx) (authcore.Audit, error) {
		var ev authcore.Audit
		if u, ev, err = s.ssoUser(ctx, tx, c, id); err != nil {
			return ev, err
		}
		var detail string
		if changed, detail, err = applyTeams(ctx, tx, a, u, plan, s.clock()); err != nil {
			return ev, err
		}
		ev.Detail = strings.TrimSpace(ev.Detail + detail)
		return ev, nil
	})
	if err != nil {
		return storage.User{}, err
	}
	if changed {
		keys, err := userKeyRecords(ctx, s.store, u)
		if err != nil {
			return storage.User{}, err
		}
		s.dropTeamMembers(map[string][]storage.APIKey{u.UID: keys}, nil)
	}
	u, err = s.store.UserByUID(ctx, u.UID)
	return u, authcore.StoreError(err, "user "+id.Email)
}

// ssoUser finds, links or creates the identity's user inside tx, and the audit row that
// says which.
func (s *Service) ssoUser(ctx context.Context, tx storage.Tx, c sso.Config, id sso.Identity) (storage.User, authcore.Audit, error) {
	ev := authcore.Audit{Action: "user.sso_signin", Kind: "user", Detail: id.Email + ";"}
	u, err := tx.UserByIdentity(ctx, c.TenantUID, id.Issuer, id.Subject)
	if err == nil {
		ev.Target = u.UID
		if u.Disabled {
			return u, ev, errSSODisabled
		}
		return u, ev, nil
	}
	if !authcore.IsNotFound(err) {
		return u, ev, err
	}
	link := storage.ExternalIdentity{TenantUID: c.TenantUID, Issuer: id.Issuer, Subject: id.Subject, CreatedAt: s.clock()}
	if u, err = s.userByEmail(ctx, c.TenantUID, id.Email); err == nil {
		if !c.LinkUsers {
			return u, ev, errSSONoLink
		}
		if u, err = tx.LockedUser(ctx, u.UID); err != nil {
			return u, ev, err
		}
		if u.Disabled {
			return u, ev, errSSODisabled
		}
		link.UserUID, ev.Action, ev.Target = u.UID, "user.sso_link", u.UID
		return u, ev, tx.LinkIdentity(ctx, link)
	}
	if !authcore.IsNotFound(err) {
		return u, ev, err
	}
	if !c.CreateUsers {
		return u, ev, errSSONoAccount
	}
	now := s.clock()
	u = storage.User{UID: authcore.NewUID(), TenantUID: c.TenantUID, Email: id.Email, Role: storage.RoleUser, CreatedAt: now, UpdatedAt: now}
	if checkNames(id.FirstName, id.LastName) == nil {
		u.FirstName, u.LastName = id.FirstName, id.LastName
	}
	link.UserUID, ev.Action, ev.Target = u.UID, "user.create", u.UID
	ev.Detail = id.Email + ": by single sign-on;"
	if err := tx.CreateUser(ctx, u); err != nil {
		return u, ev, err
	}
	return u, ev, tx.LinkIdentity(ctx, link)
}

// userByEmail is the tenant's user with that email; ErrNotFound when there is none.
func (s *Service) userByEmail(ctx context.Context, tenantUID, email string) (storage.User, error) {
	users, err := s.store.UsersByEmail(ctx, email)
	if err != nil {
		return storage.User{}, err
	}
	for _, u := range users {
		if u.TenantUID == tenantUID {
			return u, nil
		}
	}
	return storage.User{}, storage.ErrNotFound
}

// tenantTeams reads every team of the tenant.
func (s *Service) tenantTeams(ctx context.Context, tenantUID string) ([]storage.Team, error) {
	var all []storage.Team
	p := storage.Page{Limit: MaxPageSize}
	for {
		teams, next, err := s.store.ListTeams(ctx, tenantUID, p)
		if err != nil {
			return nil, authcore.Unavailable(err)
		}
		all = append(all, teams...)
		if next == "" {
			return all, nil
		}
		p.After = next
	}
}

// teamPlan is the team memberships a sign-in sets: the teams the user belongs in, the
// teams to create for them, and every team of the tenant (to leave the others).
type teamPlan struct {
	want   map[string]bool // team uids
	create []string        // names of groups that are no team yet (SyncTeams only)
	teams  []storage.Team
}

func planTeams(c sso.Config, groups []string, teams []storage.Team) teamPlan {
	p := teamPlan{want: map[string]bool{}, teams: teams}
	byName := map[string]string{}
	for _, t := range teams {
		byName[t.Name] = t.UID
	}
	for _, uid := range c.DefaultTeams {
		p.want[uid] = true
	}
	for _, g := range storage.SortedSet(groups) {
		switch uid, ok := byName[g]; {
		case ok:
			p.want[uid] = true
		case c.SyncTeams && authcore.CheckName("group", g) == nil:
			p.create = append(p.create, g)
		}
	}
	return p
}

// applyTeams makes the plan the user's memberships inside tx, locking each team it
// changes; it reports whether any changed and what, for the audit row. A change that
// would leave the tenant without an enabled admin is refused, as any other.
func applyTeams(ctx context.Context, tx storage.Tx, a authcore.Actor, u storage.User, p teamPlan, now time.Time) (bool, string, error) {
	var added, removed []string
	for _, name := range p.create {
		t := storage.Team{UID: authcore.NewUID(), TenantUID: u.TenantUID, Name: name, Users: []string{u.UID}, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateTeam(ctx, t); err != nil {
			return false, "", err
		}
		added = append(added, name+" (new)")
	}
	for _, known := range p.teams {
		if p.want[known.UID] == slices.Contains(known.Users, u.UID) {
			continue
		}
		t, err := lockVisibleTeam(ctx, tx, a, known.UID)
		if authcore.IsNotFound(err) { // deleted since it was listed
			continue
		}
		if err != nil {
			return false, "", err
		}
		if p.want[t.UID] == slices.Contains(t.Users, u.UID) { // changed since it was listed
			continue
		}
		if p.want[t.UID] {
			t.Users, added = storage.SortedSet(append(t.Users, u.UID)), append(added, t.Name)
		} else {
			t.Users, removed = slices.DeleteFunc(t.Users, func(uid string) bool { return uid == u.UID }), append(removed, t.Name)
		}
		t.UpdatedAt = now
		if err := tx.UpdateTeam(ctx, t); err != nil {
			return false, "", err
		}
	}
	if len(added)+len(removed) == 0 {
		return false, "", nil
	}
	detail := " teams"
	if len(added) > 0 {
		detail += " +" + strings.Join(added, " +")
	}
	if len(removed) > 0 {
		detail += " -" + strings.Join(removed, " -")
	}
	return true, detail, keepsSomeAdmin(ctx, tx, u.TenantUID)
}
