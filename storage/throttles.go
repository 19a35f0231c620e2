package storage

import (
	"context"
	"time"
)

// FailureCounts is an optional capability of a Store that several gateway nodes share
// (PostgreSQL): counts of failed attempts that every node adds to, so that a login
// throttle holds across the cluster rather than per node. A Store without it (SQLite, one
// node) leaves the throttles per node. The domain reaches it with a type assertion.
type FailureCounts interface {
	// AddFailures adds each delta to its key's count, in one statement, and returns the
	// counts after, in the order of adds. A count lives in a window that opens at the
	// first attempt (at now) and lasts the add's Window; an add to a count whose window
	// is over opens a new one. A negative delta (an attempt given back) changes only a
	// live count, never below zero, and creates none: its tally is then zero. Counts are
	// a throttle's, not records: the backend may keep them where a crash or a failover
	// loses them, and drops them once their window is over.
	AddFailures(ctx context.Context, now time.Time, adds []FailureAdd) ([]FailureTally, error)
}

// FailureAdd is one change to a shared failure count.
type FailureAdd struct {
	Key    string        // an opaque digest naming what is counted (an account, a network)
	Delta  int           // 1 for an attempt, -1 to give one back
	Window time.Duration // how long a count lasts from its first attempt
}

// FailureTally is a shared failure count after an add, and when its window opened.
type FailureTally struct {
	Count int
	Start time.Time
}
