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
	var tests []suiteTest
	tests = append(tests, tenantTests...)
	tests = append(tests, userTests...)
	tests = append(tests, projectTests...)
	tests = append(tests, apiKeyTests...)
	tests = append(tests, signingKeyTests...)
	tests = append(tests, sessionTests...)
	tests = append(tests, bootstrapTests...)
	tests = append(tests, listingTests...)
	tests = append(tests, auditTests...)
	tests = append(tests, watchTests...)
	tests = append(tests, miscTests...)
	tests = append(tests, updateTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// ctx bounds every store call of a test, so that a hung backend fails instead of stalling.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
