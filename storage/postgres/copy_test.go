package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/postgres/pgtest"
	"github.com/keygate/keygate/storage/sqlite"
	"github.com/keygate/keygate/storage/sqlstore"
)

var copyT0 = time.Date(2025, 6, 1, 9, 30, 0, 123_000_000, time.UTC)

func copyDigest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// copyFixture is what populateForCopy wrote, by uid, so that a copy can be read back.
type copyFixture struct {
	tenants, users, projects, keys, sessions, teams []string
	digests                                         [][]byte
}

// populateForCopy fills s through the Store API: two tenants, users (with and without a
// password hash, one disabled), projects with members, keys active, revoked and used,
// sessions live, revoked and refreshed, audit events, the signing keys k1 and k2 and the
// key tag secret. Each user's first key is tagged, the second a legacy one.
func populateForCopy(t *testing.T, s storage.Store) copyFixture {
	t.Helper()
	ctx := context.Background()
	var f copyFixture
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("signing key", s.CreateSigningKey(ctx, storage.SigningKey{KID: "k1", Secret: copyDigest("secret-1"), CreatedAt: copyT0}))
	must("signing key", s.CreateSigningKey(ctx, storage.SigningKey{KID: "k2", Secret: copyDigest("secret-2"), CreatedAt: copyT0.Add(time.Hour)}))
	if _, err := s.KeyTagSecret(ctx, copyDigest("tag-secret"), copyT0); err != nil {
		t.Fatalf("key tag secret: %v", err)
	}
	for ti, tn := range []string{"acme", "globex"} {
		at := copyT0.Add(time.Duration(ti) * time.Minute)
		tenant := storage.Tenant{UID: "t-" + tn, Name: tn, CreatedAt: at}
		must("tenant", s.CreateTenant(ctx, tenant))
		f.tenants = append(f.tenants, tenant.UID)
		var users []string
		for ui, role := range []storage.Role{storage.RoleTenantAdmin, storage.RoleUser, storage.RoleUser} {
			u := storage.User{
				UID: fmt.Sprintf("u-%s-%d", tn, ui), TenantUID: tenant.UID,
				Email: fmt.Sprintf("user%d@%s.example", ui, tn), FirstName: "First", LastName: fmt.Sprintf("Last%d", ui),
				Role: role, CreatedAt: at.Add(time.Duration(ui) * time.Second), UpdatedAt: at.Add(time.Duration(ui) * time.Second),
			}
			if ui == 0 {
				u.PasswordHash = "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
			}
			must("user", s.CreateUser(ctx, u))
			users = append(users, u.UID)
			for ki := range 2 {
				name := fmt.Sprintf("%s-%d-%d", tn, ui, ki)
				k := storage.APIKey{
					UID: "k-" + name, TenantUID: tenant.UID, UserUID: u.UID, Name: name, Description: "key " + name,
					Digest: copyDigest(name), Hint: name[:4], ExpiresAt: at.Add(30 * 24 * time.Hour), Active: true,
					CreatedAt: at.Add(time.Duration(ki) * time.Millisecond), UpdatedAt: at.Add(time.Duration(ki) * time.Millisecond),
					Tagged: ki == 0,
				}
				must("key", s.CreateAPIKey(ctx, k, 0))
				f.keys = append(f.keys, k.UID)
				f.digests = append(f.digests, k.Digest)
				if ki == 1 {
					must("revoke key", s.SetAPIKeyActive(ctx, k.UID, false))
				} else {
					must("touch key", s.TouchAPIKeys(ctx, map[string]time.Time{k.UID: at.Add(time.Hour)}))
				}
			}
			for si := range 2 {
				sess := storage.Session{ID: fmt.Sprintf("s-%s-%d-%d", tn, ui, si), UserUID: u.UID, TenantUID: tenant.UID, CreatedAt: at, TokenID: "jti-0"}
				must("session", s.CreateSession(ctx, sess))
				f.sessions = append(f.sessions, sess.ID)
				if si == 1 {
					must("revoke session", s.RevokeSession(ctx, sess.ID, at.Add(2*time.Hour)))
				} else {
					must("rotate session", s.RotateSessionToken(ctx, sess.ID, "jti-0", "jti-1"))
				}
			}
		}
		must("disable", s.SetUserDisabled(ctx, users[2], true))
		must("password token", s.CreatePasswordToken(ctx, storage.PasswordToken{
			ID: "pt-" + tn, TenantUID: tenant.UID, UserUID: users[1], Digest: copyDigest("pt-" + tn),
			CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour),
		}))
		if ti == 0 {
			must("settings", s.SetTenantSettings(ctx, storage.TenantSettings{TenantUID: tenant.UID, TokenTTL: time.Hour, UpdatedAt: at}))
			must("oidc config", s.SetOIDCConfig(ctx, storage.OIDCConfig{
				TenantUID: tenant.UID, IssuerURL: "https://idp.example", ClientID: "keygate", SealedSecret: []byte("sealed"),
				Scopes: []string{"openid", "email"}, Enabled: true, CreateUsers: true, UpdatedAt: at,
			}))
			must("identity", s.LinkIdentity(ctx, storage.ExternalIdentity{TenantUID: tenant.UID, Issuer: "https://idp.example", Subject: "sub-" + tn, UserUID: users[0], CreatedAt: at}))
			must("scim token", s.SetSCIMToken(ctx, storage.SCIMToken{TenantUID: tenant.UID, Digest: copyDigest("scim-" + tn), Hint: "kgscim_ab…yz", CreatedAt: at, LastUsedAt: at.Add(time.Minute)}))
			must("user external id", s.SetExternalID(ctx, storage.ExternalUser, users[1], "00u-"+tn))
		}
		f.users = append(f.users, users...)
		for pi := range 2 {
			p := storage.Project{UID: fmt.Sprintf("p-%s-%d", tn, pi), TenantUID: tenant.UID, Name: fmt.Sprintf("project %d", pi), CreatedAt: at}
			must("project", s.CreateProject(ctx, p))
			f.projects = append(f.projects, p.UID)
			must("member", s.AddProjectMember(ctx, p.UID, users[pi]))
			must("member", s.AddProjectMember(ctx, p.UID, users[2]))
		}
		// A custom role of each scope, a team holding one and a grant in a project.
		tenantRole := storage.RoleDef{UID: "r-" + tn, TenantUID: tenant.UID, Name: "auditor", Scope: storage.ScopeTenant, Permissions: []string{"audit.get", "user.list"}, CreatedAt: at, UpdatedAt: at}
		projectRole := storage.RoleDef{UID: "rp-" + tn, TenantUID: tenant.UID, Name: "deployer", Scope: storage.ScopeProject, Permissions: []string{"cluster.create"}, CreatedAt: at, UpdatedAt: at}
		must("role", s.CreateRole(ctx, tenantRole))
		must("role", s.CreateRole(ctx, projectRole))
		team := storage.Team{UID: "team-" + tn, TenantUID: tenant.UID, Name: "ops", Users: users[1:], Roles: []string{tenantRole.UID}, CreatedAt: at, UpdatedAt: at}
		must("team", s.CreateTeam(ctx, team))
		f.teams = append(f.teams, team.UID)
		if ti == 0 {
			must("team external id", s.SetExternalID(ctx, storage.ExternalTeam, team.UID, "00g-"+tn))
		}
		must("team grant", s.SetProjectRoles(ctx, storage.ProjectGrant{ProjectUID: f.projects[len(f.projects)-1], TeamUID: team.UID, Roles: []string{projectRole.UID}}))
		for ai := range 5 {
			must("audit", s.AppendAudit(ctx, storage.AuditEvent{
				ID: fmt.Sprintf("a-%s-%d", tn, ai), TenantUID: tenant.UID, At: at.Add(time.Duration(ai) * time.Second),
				ActorUID: users[0], ActorEmail: "user0@" + tn + ".example", Action: "apikey.create", TargetKind: "apikey",
				TargetUID: "k-" + tn, SourceIP: "192.0.2.1", Detail: "detail",
			}))
		}
	}
	return f
}

// copySnapshot is every record of f as the Store API reads it.
type copySnapshot struct {
	Tenants     []storage.Tenant
	Users       []storage.User
	Projects    []storage.Project
	Members     map[string][]string
	Grants      map[string][]storage.ProjectGrant
	Roles       map[string][]storage.RoleDef
	Teams       []storage.Team
	Keys        []storage.APIKey
	KeyGrants   []storage.KeyGrant
	Sessions    []storage.Session
	SigningKeys []storage.SigningKey
	// TagSecret is the store's key tag secret: a copy without it would refuse every
	// tagged key. LegacyDigests are the untagged keys' digests, sorted.
	TagSecret     []byte
	LegacyDigests [][]byte
	Audit         map[string][]storage.AuditEvent
	Settings      []storage.TenantSettings
	Tokens        map[string][]storage.PasswordToken
	OIDC          storage.OIDCConfig
	SSOUser       storage.User
	// SCIM is each tenant's SCIM token (when it has one) and the external ids of users
	// and teams.
	SCIM        []storage.SCIMToken
	ExternalIDs []map[string]string
}

func readForCopy(t *testing.T, s storage.Store, f copyFixture) copySnapshot {
	t.Helper()
	ctx := context.Background()
	var snap copySnapshot
	var err error
	if snap.Tenants, err = s.ListTenants(ctx); err != nil {
		t.Fatal(err)
	}
	snap.Users = readEach(t, "user", f.users, s.UserByUID)
	snap.Members = map[string][]string{}
	snap.Projects = readEach(t, "project", f.projects, s.ProjectByUID)
	for _, uid := range f.projects {
		if snap.Members[uid], err = s.ProjectMembers(ctx, uid); err != nil {
			t.Fatal(err)
		}
	}
	snap.Keys = readEach(t, "key", f.keys, s.APIKeyByUID)
	snap.KeyGrants = readEach(t, "key by digest", f.digests, s.KeyGrantByDigest)
	snap.Teams = readEach(t, "team", f.teams, s.TeamByUID)
	snap.Grants, snap.Roles = map[string][]storage.ProjectGrant{}, map[string][]storage.RoleDef{}
	for _, uid := range f.projects {
		if snap.Grants[uid], err = s.ProjectGrants(ctx, uid); err != nil {
			t.Fatal(err)
		}
	}
	for _, tn := range f.tenants {
		if snap.Roles[tn], err = s.ListRoles(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	snap.Sessions = readEach(t, "session", f.sessions, s.SessionByID)
	if snap.SigningKeys, err = s.SigningKeys(ctx); err != nil {
		t.Fatal(err)
	}
	// A store without a secret would store this candidate and return it: see want.
	if snap.TagSecret, err = s.KeyTagSecret(ctx, copyDigest("a secret the target made up"), copyT0); err != nil {
		t.Fatal(err)
	}
	if snap.LegacyDigests, err = s.LegacyKeyDigests(ctx); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(snap.LegacyDigests, bytes.Compare)
	snap.Settings = readEach(t, "settings", f.tenants, s.TenantSettings)
	if snap.OIDC, err = s.OIDCConfig(ctx, f.tenants[0]); err != nil {
		t.Fatal(err)
	}
	if snap.SSOUser, err = s.UserByIdentity(ctx, f.tenants[0], "https://idp.example", "sub-acme"); err != nil {
		t.Fatal(err)
	}
	snap.Tokens = map[string][]storage.PasswordToken{}
	for _, tn := range f.tenants {
		if snap.Tokens[tn], err = s.PasswordTokens(ctx, tn); err != nil || len(snap.Tokens[tn]) != 1 {
			t.Fatalf("password tokens of %s: %v, %v", tn, snap.Tokens[tn], err)
		}
	}
	for _, tn := range f.tenants {
		if tok, err := s.SCIMToken(ctx, tn); err == nil {
			snap.SCIM = append(snap.SCIM, tok)
		}
	}
	if len(snap.SCIM) != 1 {
		t.Fatalf("SCIM tokens: %v, want the first tenant's", snap.SCIM)
	}
	for _, kind := range []storage.ExternalKind{storage.ExternalUser, storage.ExternalTeam} {
		uids := map[storage.ExternalKind][]string{storage.ExternalUser: f.users, storage.ExternalTeam: f.teams}[kind]
		ids, err := s.ExternalIDs(ctx, kind, uids)
		if err != nil || len(ids) != 1 {
			t.Fatalf("external ids of %s: %v, %v", kind, ids, err)
		}
		snap.ExternalIDs = append(snap.ExternalIDs, ids)
	}
	snap.Audit = map[string][]storage.AuditEvent{}
	for _, tn := range f.tenants {
		if snap.Audit[tn], _, err = s.ListAudit(ctx, tn, storage.Page{Limit: 100}); err != nil {
			t.Fatal(err)
		}
	}
	return snap
}

// openSQLite opens a fresh SQLite store to copy from, closed when the test ends.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	src, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "keygate.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// readEach reads the record of every id with get, failing the test on the first error.
func readEach[ID, T any](t *testing.T, what string, ids []ID, get func(context.Context, ID) (T, error)) []T {
	t.Helper()
	var out []T
	for _, id := range ids {
		v, err := get(context.Background(), id)
		if err != nil {
			t.Fatalf("%s %v: %v", what, id, err)
		}
		out = append(out, v)
	}
	return out
}

func TestCopyStoreFromSQLiteIntoAnEmptyPostgreSQLStore(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	src := openSQLite(t)
	f := populateForCopy(t, src)
	want := readForCopy(t, src, f)

	dst := open(t, postgres.Options{DSN: dsn})
	rep, err := sqlstore.CopyStore(ctx, src.Store, dst.Store)
	if err != nil {
		t.Fatalf("CopyStore: %v", err)
	}
	wantRows := map[string]int64{
		"tenants": 2, "users": 6, "projects": 4, "roles": 4, "user_roles": 2, "teams": 2,
		"team_members": 4, "team_roles": 2, "project_roles": 10, "api_keys": 12,
		"signing_keys": 2, "secrets": 1, "sessions": 12, "audit_events": 10, "tenant_settings": 1, "password_tokens": 2,
		"oidc_configs": 1, "user_identities": 1,
		"scim_tokens": 1, "scim_user_ids": 1, "scim_team_ids": 1,
		"webhook_endpoints": 0, "webhook_deliveries": 0, "key_reminders": 0,
	}
	if len(rep.Tables) != len(wantRows) {
		t.Errorf("report has %d tables, want %d: %+v", len(rep.Tables), len(wantRows), rep.Tables)
	}
	for _, c := range rep.Tables {
		if c.Rows != wantRows[c.Table] {
			t.Errorf("%s: copied %d rows, want %d", c.Table, c.Rows, wantRows[c.Table])
		}
	}
	if rep.KeysChecked != 12 {
		t.Errorf("checked %d keys by digest, want 12", rep.KeysChecked)
	}

	got := readForCopy(t, dst, f)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the PostgreSQL store reads back differently:\n got %+v\nwant %+v", got, want)
	}
	// The fixture holds both values of each boolean, and a password hash.
	if want.Users[0].Disabled || !want.Users[2].Disabled || want.Users[0].PasswordHash == "" || want.Keys[1].Active || !want.Keys[0].Active ||
		!want.Keys[0].Tagged || want.Keys[1].Tagged || !bytes.Equal(want.TagSecret, copyDigest("tag-secret")) || len(want.LegacyDigests) != 6 {
		t.Errorf("fixture lacks a boolean value or the password hash: %+v %+v", want.Users, want.Keys)
	}
	revoked, err := dst.RevokedSessionsSince(ctx, time.Time{})
	if err != nil || len(revoked) != 6 {
		t.Errorf("RevokedSessionsSince on the target = %v, %v; want 6 sessions", revoked, err)
	}

	// The target now holds tenants: a second copy is refused and changes nothing.
	_, err = sqlstore.CopyStore(ctx, src.Store, dst.Store)
	if !errors.Is(err, sqlstore.ErrTargetNotEmpty) {
		t.Fatalf("second CopyStore: %v, want ErrTargetNotEmpty", err)
	}
	if again := readForCopy(t, dst, f); !reflect.DeepEqual(again, want) {
		t.Errorf("a refused copy changed the target:\n got %+v\nwant %+v", again, want)
	}
}

func TestCopyStoreRefusesATargetWithOnlyASigningKey(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	src := openSQLite(t)
	populateForCopy(t, src)
	dst := open(t, postgres.Options{DSN: dsn})
	k := storage.SigningKey{KID: "k1", Secret: copyDigest("other"), CreatedAt: copyT0}
	if err := dst.CreateSigningKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.CopyStore(ctx, src.Store, dst.Store); !errors.Is(err, sqlstore.ErrTargetNotEmpty) {
		t.Fatalf("CopyStore: %v, want ErrTargetNotEmpty", err)
	}
	keys, err := dst.SigningKeys(ctx)
	if err != nil || !reflect.DeepEqual(keys, []storage.SigningKey{k}) {
		t.Errorf("target signing keys = %+v, %v; want only its own", keys, err)
	}
	if tenants, err := dst.ListTenants(ctx); err != nil || len(tenants) != 0 {
		t.Errorf("target tenants = %+v, %v; want none", tenants, err)
	}
}
