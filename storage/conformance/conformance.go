// Package conformance is the test suite every storage.Store backend must pass.
//
// A backend's test calls Run with a function returning a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) storage.Store { ... })
//	}
package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

// Timeouts. Waits end as soon as what they wait for happens; these only bound failures.
const (
	changeTimeout = 5 * time.Second // for a change to reach a watcher
	probeInterval = 250 * time.Millisecond
)

type suiteTest struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}

// Run runs every conformance test, each as a subtest on its own store from open. open
// must return a fresh, empty store and register its cleanup with t.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	for _, tests := range [][]suiteTest{
		tenantTests, userTests, projectTests, apiKeyTests, signingKeyTests, keyTagTests, sessionTests,
		bootstrapTests, listingTests, auditTests, watchTests, miscTests, updateTests, roleTests, passwordTokenTests, ssoTests,
		rollTests, scimTests, webhookTests,
	} {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
		}
	}
}

// unknownIsNotFound is a test that op, a write that names a record the store does not
// hold, fails with storage.ErrNotFound; what names the write in the failure.
func unknownIsNotFound(what string, op func(c context.Context, s storage.Store) error) func(*testing.T, storage.Store) {
	return func(t *testing.T, s storage.Store) {
		wantErr(t, what, op(ctx(t), s), storage.ErrNotFound)
	}
}

// ctx bounds every store call of a test, so that a hung backend fails instead of stalling.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
