package conformance

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var listingTests = []suiteTest{
	{"Listing/APIKeyPages", testListAPIKeysPages},
	{"Listing/APIKeyPageSizes", testListAPIKeysPageSizes},
	{"Listing/APIKeysAddedWhilePaging", testListAPIKeysGrowing},
	{"Listing/APIKeysOfUser", testListAPIKeysOfUser},
	{"Listing/Users", testListUsers},
	{"Listing/Projects", testListProjects},
	{"Listing/BadCursor", testListBadCursor},
	{"Listing/TenantIsolation", testListTenantIsolation},
}

// maxPages bounds every paging loop, so that a store that never returns an empty cursor
// fails the test instead of hanging it.
const maxPages = 100

// lister is one listing call, bound to everything but the page.
type lister[T any] func(p storage.Page) ([]T, string, error)

// collect pages through a listing with the given limit until the cursor is empty and
// returns every item and each page's size. between, when not nil, runs after each page
// but the last (with the page number, from 1), to change the store while paging.
func collect[T any](t *testing.T, what string, limit int, list lister[T], between func(page int)) ([]T, []int) {
	t.Helper()
	var (
		all   []T
		sizes []int
		after string
	)
	seen := map[string]bool{"": true}
	for page := 1; ; page++ {
		if page > maxPages {
			t.Fatalf("%s: still paging after %d pages", what, maxPages)
		}
		items, next, err := list(storage.Page{Limit: limit, After: after})
		mustOK(t, fmt.Sprintf("%s page %d", what, page), err)
		all, sizes = append(all, items...), append(sizes, len(items))
		if next == "" {
			return all, sizes
		}
		if seen[next] {
			t.Fatalf("%s page %d: cursor %q returned before", what, page, next)
		}
		seen[next] = true
		if len(items) == 0 {
			t.Fatalf("%s page %d: empty page with a next cursor", what, page)
		}
		if between != nil {
			between(page)
		}
		after = next
	}
}

// uidsOf lists the uids of items, in order.
func uidsOf[T any](items []T, uid func(T) string) []string {
	uids := make([]string, len(items))
	for i, item := range items {
		uids[i] = uid(item)
	}
	return uids
}

func userUID(u storage.User) string       { return u.UID }
func keyUID(k storage.APIKey) string      { return k.UID }
func projectUID(p storage.Project) string { return p.UID }
func eventID(e storage.AuditEvent) string { return e.ID }

func userUIDs(users []storage.User) []string          { return uidsOf(users, userUID) }
func keyUIDs(keys []storage.APIKey) []string          { return uidsOf(keys, keyUID) }
func projectUIDs(projects []storage.Project) []string { return uidsOf(projects, projectUID) }
func eventIDs(events []storage.AuditEvent) []string   { return uidsOf(events, eventID) }

// sameList checks that got lists exactly want's records (by uid), in want's order.
func sameList[T any](t *testing.T, what string, got, want []T, uid func(T) string) {
	t.Helper()
	if !slices.Equal(uidsOf(got, uid), uidsOf(want, uid)) {
		t.Fatalf("%s = %v,\nwant %v", what, uidsOf(got, uid), uidsOf(want, uid))
	}
	for i := range want {
		sameRecord(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

// byCreated sorts records as listings order them: by creation time, to the millisecond,
// then uid.
func byCreated[T any](items []T, created func(T) time.Time, uid func(T) string) []T {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b T) int {
		return cmp.Or(cmp.Compare(created(a).UnixMilli(), created(b).UnixMilli()), cmp.Compare(uid(a), uid(b)))
	})
	return out
}

func keysByCreated(keys []storage.APIKey) []storage.APIKey {
	return byCreated(keys, func(k storage.APIKey) time.Time { return k.CreatedAt }, keyUID)
}

// mustKeysInPairs creates n keys of u (n even) whose creation order is neither insertion
// order nor uid order: later pairs are older, and within a pair, which shares one
// creation time, the key with the greater uid is inserted first.
func mustKeysInPairs(t *testing.T, s storage.Store, u storage.User, n int) []storage.APIKey {
	t.Helper()
	keys := make([]storage.APIKey, 0, n)
	for i := 0; i < n; i += 2 {
		a, b := newKey(u), newKey(u)
		a.CreatedAt = t0.Add(time.Duration(n-i) * time.Second)
		b.CreatedAt = a.CreatedAt
		for _, k := range []storage.APIKey{b, a} {
			mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), k, 0))
			keys = append(keys, k)
		}
	}
	return keys
}

func tenantKeys(t *testing.T, s storage.Store, tenantUID string) lister[storage.APIKey] {
	return func(p storage.Page) ([]storage.APIKey, string, error) {
		return s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: tenantUID}, p)
	}
}

func tenantUsers(t *testing.T, s storage.Store, tenantUID string) lister[storage.User] {
	return func(p storage.Page) ([]storage.User, string, error) { return s.ListUsers(ctx(t), tenantUID, p) }
}

func tenantProjects(t *testing.T, s storage.Store, tenantUID string) lister[storage.Project] {
	return func(p storage.Page) ([]storage.Project, string, error) { return s.ListProjects(ctx(t), tenantUID, p) }
}

// mustPages pages through a listing with the given limit (see collect) and checks that
// its pages have the sizes given and that together they list exactly want, in order.
func mustPages[T any](t *testing.T, what string, limit int, list lister[T], sizes []int, want []T, uid func(T) string) {
	t.Helper()
	got, gotSizes := collect(t, what, limit, list, nil)
	if !slices.Equal(gotSizes, sizes) {
		t.Errorf("%s page sizes = %v, want %v", what, gotSizes, sizes)
	}
	sameList(t, what, got, want, uid)
}

// testListAPIKeysPages: 120 keys in pages of 50 are 50, 50 and 20, each key exactly once,
// in creation order, whole.
func testListAPIKeysPages(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	keys := mustKeysInPairs(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0), 120)
	mustPages(t, "ListAPIKeys", 50, tenantKeys(t, s, tn.UID), []int{50, 50, 20}, keysByCreated(keys), keyUID)
}

// testListAPIKeysPageSizes: the default and exact fits. A page that ends the listing has
// no next cursor even when it is full.
func testListAPIKeysPageSizes(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	keys := mustKeysInPairs(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0), 120)
	want := keysByCreated(keys)
	for _, c := range []struct {
		limit int
		sizes []int
	}{
		{60, []int{60, 60}},
		{120, []int{120}},
		{119, []int{119, 1}},
		{1000, []int{120}},
		{0, []int{50, 50, 20}},  // the default
		{-1, []int{50, 50, 20}}, // likewise
	} {
		got, sizes := collect(t, fmt.Sprintf("ListAPIKeys(limit %d)", c.limit), c.limit, tenantKeys(t, s, tn.UID), nil)
		if !slices.Equal(sizes, c.sizes) {
			t.Errorf("ListAPIKeys(limit %d) page sizes = %v, want %v", c.limit, sizes, c.sizes)
		}
		if !slices.Equal(keyUIDs(got), keyUIDs(want)) {
			t.Errorf("ListAPIKeys(limit %d) = %v,\nwant %v", c.limit, keyUIDs(got), keyUIDs(want))
		}
	}
	// An empty listing is one empty page without a cursor.
	items, next, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: mustTenant(t, s, "empty").UID}, storage.Page{})
	mustOK(t, "ListAPIKeys(empty tenant)", err)
	if len(items) != 0 || next != "" {
		t.Errorf("ListAPIKeys(empty tenant) = %v, %q; want nothing and no cursor", keyUIDs(items), next)
	}
}

// testListAPIKeysGrowing adds keys between pages: nothing listed repeats or goes missing,
// keys created later than the cursor show up in their place (at the end, or among equal
// creation times by uid), and one created before the cursor does not show up.
func testListAPIKeysGrowing(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	keys := mustKeysInPairs(t, s, u, 120)
	sorted := keysByCreated(keys)
	other := mustUser(t, s, mustTenant(t, s, "other").UID, "bob@example.com", 0)

	add := func(k storage.APIKey) storage.APIKey {
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), k, 0))
		return k
	}
	var early storage.APIKey
	want := slices.Clone(keys)
	got, sizes := collect(t, "ListAPIKeys", 50, tenantKeys(t, s, tn.UID), func(page int) {
		switch page {
		case 1:
			late := newKey(u)
			late.CreatedAt = t0.Add(time.Hour) // after every key
			tie := newKey(u)
			tie.CreatedAt = sorted[49].CreatedAt // same time as the cursor, greater uid
			early = newKey(u)
			early.CreatedAt = t0 // before the cursor: not in the pages to come
			want = append(want, add(late), add(tie))
			add(early)
			add(newKey(other)) // another tenant's
		case 2:
			later := newKey(u)
			later.CreatedAt = t0.Add(2 * time.Hour)
			want = append(want, add(later))
		}
	})
	if !slices.Equal(sizes, []int{50, 50, 23}) {
		t.Errorf("page sizes = %v, want [50 50 23]", sizes)
	}
	sameList(t, "ListAPIKeys while adding keys", got, keysByCreated(want), keyUID)
	// A listing started afresh has them all.
	got, _ = collect(t, "ListAPIKeys afresh", 50, tenantKeys(t, s, tn.UID), nil)
	sameList(t, "ListAPIKeys afresh", got, keysByCreated(append(want, early)), keyUID)
}

func testListAPIKeysOfUser(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	alice := mustUser(t, s, tn.UID, "alice@example.com", 0)
	bob := mustUser(t, s, tn.UID, "bob@example.com", 0)
	var aliceKeys, all []storage.APIKey
	for i := range 30 { // interleaved, so that a filter applied after the limit shows
		a, b := newKey(alice), newKey(bob)
		a.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		b.CreatedAt = a.CreatedAt
		mustOK(t, "CreateAPIKey(alice)", s.CreateAPIKey(ctx(t), a, 0))
		mustOK(t, "CreateAPIKey(bob)", s.CreateAPIKey(ctx(t), b, 0))
		aliceKeys, all = append(aliceKeys, a), append(all, a, b)
	}
	stranger := mustUser(t, s, mustTenant(t, s, "other").UID, "carol@example.com", 0)
	mustKey(t, s, stranger)

	of := func(tenantUID, userUID string) lister[storage.APIKey] {
		return func(p storage.Page) ([]storage.APIKey, string, error) {
			return s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: tenantUID, UserUID: userUID}, p)
		}
	}
	mustPages(t, "ListAPIKeys(alice)", 7, of(tn.UID, alice.UID), []int{7, 7, 7, 7, 2}, keysByCreated(aliceKeys), keyUID)
	got, _ := collect(t, "ListAPIKeys(tenant)", 7, of(tn.UID, ""), nil)
	sameList(t, "ListAPIKeys(tenant)", got, keysByCreated(all), keyUID)
	for name, f := range map[string]lister[storage.APIKey]{
		"unknown user":             of(tn.UID, "no-such-user"),
		"user of another tenant":   of(tn.UID, stranger.UID),
		"unknown tenant":           of("no-such-tenant", ""),
		"unknown tenant with user": of("no-such-tenant", alice.UID),
	} {
		got, _ := collect(t, "ListAPIKeys("+name+")", 7, f, nil)
		if len(got) != 0 {
			t.Errorf("ListAPIKeys(%s) = %v, want none", name, keyUIDs(got))
		}
	}
}

func testListUsers(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	// Ages out of insertion order, two sharing one.
	var users []storage.User
	for i, age := range []time.Duration{5, 1, 3, 3, 0, 4, 2} {
		u := mustUser(t, s, tn.UID, fmt.Sprintf("User%d@Example.com", i), age*time.Second)
		users = append(users, lowerEmail(u))
	}
	mustUser(t, s, mustTenant(t, s, "other").UID, "user0@example.com", 0)
	want := byCreated(users, func(u storage.User) time.Time { return u.CreatedAt }, userUID)
	mustPages(t, "ListUsers", 3, tenantUsers(t, s, tn.UID), []int{3, 3, 1}, want, userUID)
}

func testListProjects(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	var projects []storage.Project
	for i, age := range []time.Duration{2, 0, 1, 1, 3} {
		p := storage.Project{UID: newUID("project"), TenantUID: tn.UID, Name: fmt.Sprintf("p%d", i), CreatedAt: t0.Add(age * time.Minute)}
		mustOK(t, "CreateProject", s.CreateProject(ctx(t), p))
		projects = append(projects, p)
	}
	mustProject(t, s, mustTenant(t, s, "other").UID, "elsewhere")
	want := byCreated(projects, func(p storage.Project) time.Time { return p.CreatedAt }, projectUID)
	mustPages(t, "ListProjects", 2, tenantProjects(t, s, tn.UID), []int{2, 2, 1}, want, projectUID)
}

// badCursors are cursors no listing returns.
var badCursors = []string{
	"!!!",
	"not a cursor",
	base64.RawURLEncoding.EncodeToString([]byte("no colon")),
	base64.RawURLEncoding.EncodeToString([]byte("12x:uid")),
	base64.RawURLEncoding.EncodeToString([]byte(":uid")),
}

// testListBadCursor: a cursor the store did not make is storage.ErrBadCursor, for every
// listing, and not ErrNotFound (which callers would take for "no such thing").
func testListBadCursor(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	mustKey(t, s, u)
	mustProject(t, s, tn.UID, "p")
	mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), newEvent(tn.UID, t0)))
	for _, c := range badCursors {
		p := storage.Page{Limit: 10, After: c}
		_, _, errKeys := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: tn.UID}, p)
		_, _, errUsers := s.ListUsers(ctx(t), tn.UID, p)
		_, _, errProjects := s.ListProjects(ctx(t), tn.UID, p)
		_, _, errAudit := s.ListAudit(ctx(t), tn.UID, p)
		for name, err := range map[string]error{
			"ListAPIKeys": errKeys, "ListUsers": errUsers, "ListProjects": errProjects, "ListAudit": errAudit,
		} {
			if !errors.Is(err, storage.ErrBadCursor) || errors.Is(err, storage.ErrNotFound) {
				t.Errorf("%s(cursor %q) = %v, want ErrBadCursor (and not ErrNotFound)", name, c, err)
			}
		}
	}
}

// testListTenantIsolation: no listing returns another tenant's records, whichever cursor
// it is given.
func testListTenantIsolation(t *testing.T, s storage.Store) {
	type tenantData struct {
		tn       storage.Tenant
		users    []string
		keys     []string
		projects []string
		events   []string
	}
	var data []tenantData
	for i, name := range []string{"a", "b"} {
		d := tenantData{tn: mustTenant(t, s, name)}
		for j := range 3 {
			u := mustUser(t, s, d.tn.UID, fmt.Sprintf("u%d@example.com", j), time.Duration(i+j)*time.Second)
			k := mustKey(t, s, u)
			p := mustProject(t, s, d.tn.UID, fmt.Sprintf("p%d", j))
			e := newEvent(d.tn.UID, t0.Add(time.Duration(i+j)*time.Second))
			mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), e))
			d.users, d.keys = append(d.users, u.UID), append(d.keys, k.UID)
			d.projects, d.events = append(d.projects, p.UID), append(d.events, e.ID)
		}
		data = append(data, d)
	}
	for _, d := range data {
		users, _ := collect(t, "ListUsers", 2, tenantUsers(t, s, d.tn.UID), nil)
		keys, _ := collect(t, "ListAPIKeys", 2, tenantKeys(t, s, d.tn.UID), nil)
		projects, _ := collect(t, "ListProjects", 2, tenantProjects(t, s, d.tn.UID), nil)
		events, _ := collect(t, "ListAudit", 2, tenantAudit(t, s, d.tn.UID), nil)
		for _, c := range []struct {
			what      string
			got, want []string
		}{
			{"ListUsers", userUIDs(users), d.users},
			{"ListAPIKeys", keyUIDs(keys), d.keys},
			{"ListProjects", projectUIDs(projects), d.projects},
			{"ListAudit", eventIDs(events), d.events},
		} {
			got, want := slices.Sorted(slices.Values(c.got)), slices.Sorted(slices.Values(c.want))
			if !slices.Equal(got, want) {
				t.Errorf("%s(%s) = %v, want only that tenant's %v", c.what, d.tn.Name, got, want)
			}
		}
	}
	// A cursor from one tenant's listing, given to another's, is only a position: it
	// cannot bring the first tenant's records along.
	a, b := data[0], data[1]
	bKeys, next, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: b.tn.UID}, storage.Page{Limit: 1})
	mustOK(t, "ListAPIKeys(b, limit 1)", err)
	if len(bKeys) != 1 || next == "" {
		t.Fatalf("ListAPIKeys(b, limit 1) = %v, %q; want one key and a cursor", keyUIDs(bKeys), next)
	}
	keys, _, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: a.tn.UID}, storage.Page{Limit: 100, After: next})
	mustOK(t, "ListAPIKeys(a, b's cursor)", err)
	for _, k := range keys {
		if k.TenantUID != a.tn.UID {
			t.Errorf("ListAPIKeys(a, b's cursor) returned %s of tenant %s", k.UID, k.TenantUID)
		}
	}
}
