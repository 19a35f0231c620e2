package conformance

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var auditTests = []suiteTest{
	{"Audit/RoundTrip", testAuditRoundTrip},
	{"Audit/NewestFirstPages", testAuditPages},
	{"Audit/AppendedWhilePaging", testAuditGrowing},
	{"Audit/AppendIsAtomic", testAuditAtomic},
}

// newEvent returns an event of the tenant at at, every field set.
func newEvent(tenantUID string, at time.Time) storage.AuditEvent {
	id := newUID("event")
	return storage.AuditEvent{
		ID:         id,
		TenantUID:  tenantUID,
		At:         at,
		ActorUID:   "actor " + id,
		ActorEmail: "actor-" + id + "@example.com",
		Action:     "apikey.create",
		TargetKind: "apikey",
		TargetUID:  "target " + id,
		SourceIP:   "2001:db8::1",
		Detail:     "detail " + id,
	}
}

// newestFirst sorts events as ListAudit orders them: by time, to the millisecond, then
// id, both descending.
func newestFirst(events []storage.AuditEvent) []storage.AuditEvent {
	out := slices.Clone(events)
	slices.SortFunc(out, func(a, b storage.AuditEvent) int {
		return cmp.Or(cmp.Compare(b.At.UnixMilli(), a.At.UnixMilli()), cmp.Compare(b.ID, a.ID))
	})
	return out
}

func tenantAudit(t *testing.T, s storage.Store, tenantUID string) lister[storage.AuditEvent] {
	return func(p storage.Page) ([]storage.AuditEvent, string, error) {
		return s.ListAudit(ctx(t), tenantUID, p)
	}
}

func testAuditRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	full := newEvent(tn.UID, t0)
	// A failed login by an unknown user names no actor.
	anonymous := newEvent(tn.UID, t0.Add(time.Second))
	anonymous.ActorUID, anonymous.Action, anonymous.TargetKind, anonymous.TargetUID = "", "login.failure", "", ""
	mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), full, anonymous))
	mustOK(t, "AppendAudit(nothing)", s.AppendAudit(ctx(t)))
	got, next, err := s.ListAudit(ctx(t), tn.UID, storage.Page{})
	mustOK(t, "ListAudit", err)
	if next != "" {
		t.Errorf("ListAudit of two events: next cursor %q, want none", next)
	}
	sameList(t, "ListAudit", got, []storage.AuditEvent{anonymous, full}, eventID)
}

// testAuditPages: 120 events in pages of 50 are 50, 50 and 20, newest first, each once.
func testAuditPages(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	events := mustEvents(t, s, tn.UID, 120)
	mustOK(t, "AppendAudit(other tenant)", s.AppendAudit(ctx(t), newEvent(mustTenant(t, s, "other").UID, t0)))
	mustPages(t, "ListAudit", 50, tenantAudit(t, s, tn.UID), []int{50, 50, 20}, newestFirst(events), eventID)
	// An odd page size ends pages inside pairs of events that share a time.
	got, _ := collect(t, "ListAudit(limit 7)", 7, tenantAudit(t, s, tn.UID), nil)
	sameList(t, "ListAudit(limit 7)", got, newestFirst(events), eventID)
	// The default page size.
	page, next, err := s.ListAudit(ctx(t), tn.UID, storage.Page{})
	mustOK(t, "ListAudit(default page)", err)
	if len(page) != 50 || next == "" {
		t.Errorf("ListAudit(default page) = %d events, cursor %q; want 50 and a cursor", len(page), next)
	}
}

// mustEvents appends n events of the tenant (n even) in batches of various sizes,
// with times out of order and shared in pairs, and returns them.
func mustEvents(t *testing.T, s storage.Store, tenantUID string, n int) []storage.AuditEvent {
	t.Helper()
	var events []storage.AuditEvent
	for i := 0; i < n; i += 2 {
		// Pairs alternate between the first and the second half of the time range, and
		// within a pair the greater id comes first.
		at := t0.Add(time.Duration((i/2)%2*n+i) * time.Second)
		a, b := newEvent(tenantUID, at), newEvent(tenantUID, at)
		events = append(events, b, a)
	}
	for rest := events; len(rest) > 0; {
		batch := rest[:min(len(rest), 1+len(rest)%7)]
		mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), batch...))
		rest = rest[len(batch):]
	}
	return events
}

// testAuditGrowing appends events while paging: newer ones (the usual case) belong before
// the pages already read and do not show up; an event older than all shows up at the end;
// nothing repeats or goes missing.
func testAuditGrowing(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	events := mustEvents(t, s, tn.UID, 120)
	want := slices.Clone(events)
	got, sizes := collect(t, "ListAudit", 50, tenantAudit(t, s, tn.UID), func(page int) {
		newer := newEvent(tn.UID, t0.Add(24*time.Hour))
		mustOK(t, "AppendAudit(newer)", s.AppendAudit(ctx(t), newer))
		if page == 1 {
			oldest := newEvent(tn.UID, t0.Add(-time.Hour))
			mustOK(t, "AppendAudit(oldest)", s.AppendAudit(ctx(t), oldest))
			want = append(want, oldest)
		}
	})
	if !slices.Equal(sizes, []int{50, 50, 21}) {
		t.Errorf("ListAudit page sizes = %v, want [50 50 21]", sizes)
	}
	sameList(t, "ListAudit while appending", got, newestFirst(want), eventID)
}

// testAuditAtomic: a batch with a taken or repeated id is refused whole, as ErrConflict.
func testAuditAtomic(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	first := newEvent(tn.UID, t0)
	mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), first))

	fresh, taken := newEvent(tn.UID, t0.Add(time.Second)), newEvent(tn.UID, t0.Add(2*time.Second))
	taken.ID = first.ID
	wantErr(t, "AppendAudit(fresh, taken id)", s.AppendAudit(ctx(t), fresh, taken), storage.ErrConflict)
	twice := newEvent(tn.UID, t0.Add(3*time.Second))
	wantErr(t, "AppendAudit(an id twice)", s.AppendAudit(ctx(t), twice, twice), storage.ErrConflict)

	got, _, err := s.ListAudit(ctx(t), tn.UID, storage.Page{})
	mustOK(t, "ListAudit", err)
	sameList(t, "ListAudit after refused batches", got, []storage.AuditEvent{first}, eventID)
}
