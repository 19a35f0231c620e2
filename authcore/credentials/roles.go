package credentials

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// roleCatalog is one tenant's roles by uid: the built-in ones and its custom ones, as
// loaded at some time. Custom roles change rarely; a ChangeRole drops the tenant's.
type roleCatalog struct {
	byUID    map[string]storage.RoleDef
	loadedAt time.Time
}

// roleCatalogs caches catalogs per tenant.
type roleCatalogs struct {
	mu sync.Mutex
	m  map[string]*roleCatalog
}

func (c *roleCatalogs) get(tenantUID string) *roleCatalog {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[tenantUID]
}

func (c *roleCatalogs) put(tenantUID string, cat *roleCatalog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*roleCatalog{}
	}
	c.m[tenantUID] = cat
}

func (c *roleCatalogs) drop(tenantUID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, tenantUID)
}

func (c *roleCatalogs) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// catalog returns the tenant's roles, from the cache while it is fresh, else from the
// store; a stale catalogue stands in when the store cannot answer and stale_if_error is
// on.
func (v *Verifier) catalog(ctx context.Context, tenantUID string) (*roleCatalog, error) {
	now := v.now()
	cached := v.roles.get(tenantUID)
	if cached != nil && now.Sub(cached.loadedAt) < v.cacheTTL {
		return cached, nil
	}
	var custom []storage.RoleDef
	err := v.timed("role_lookup", func() (err error) {
		custom, err = v.store.ListRoles(ctx, tenantUID)
		return err
	})
	if err != nil {
		if cached != nil && v.staleOK {
			return cached, nil
		}
		return nil, authcore.Unavailable(err)
	}
	cat := &roleCatalog{byUID: map[string]storage.RoleDef{}, loadedAt: now}
	for _, r := range append(append([]storage.RoleDef(nil), storage.BuiltinRoles...), custom...) {
		cat.byUID[r.UID] = r
	}
	v.roles.put(tenantUID, cat)
	return cat, nil
}

// Grants is what a principal may do: its roles' names and their permissions together.
type Grants struct {
	TenantRoleNames  []string // in the order of the uids given
	ProjectRoleNames []string
	// permissions are the roles' own lists (the catalogue's, not copies): a handful of
	// short lists, searched only on routes that require a permission.
	permissions [][]string
}

// Has reports whether one of the roles grants perm.
func (g Grants) Has(perm string) bool {
	for _, perms := range g.permissions {
		if slices.Contains(perms, perm) {
			return true
		}
	}
	return false
}

// ResolveRoles names p's tenant roles and the project roles given, and gathers their
// permissions. A uid the catalogue does not hold (a role deleted since) grants nothing.
func (v *Verifier) ResolveRoles(ctx context.Context, p *authcore.Principal, projectRoles []string) (Grants, error) {
	var g Grants
	if len(p.TenantRoles) == 0 && len(projectRoles) == 0 {
		return g, nil
	}
	cat, err := v.catalog(ctx, p.TenantUID)
	if err != nil {
		return Grants{}, err
	}
	add := func(uids []string, names *[]string) {
		for _, uid := range uids {
			r, ok := cat.byUID[uid]
			if !ok {
				continue
			}
			*names = append(*names, r.Name)
			g.permissions = append(g.permissions, r.Permissions)
		}
	}
	add(p.TenantRoles, &g.TenantRoleNames)
	add(projectRoles, &g.ProjectRoleNames)
	return g, nil
}
