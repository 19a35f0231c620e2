package conformance

import (
	"fmt"
	"sync"
	"testing"
)

// AtOnce calls f(0) … f(n-1), each in its own goroutine, all released together (as
// nodes or clients racing each other would be), and returns their errors by index once
// every call has returned. Backends' own tests use it too.
func AtOnce(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// countWins returns how many of errs, the results of racing calls, are nil, and fails the
// test for each other one that is not target: the error a call that lost must return.
// what names the calls in the failures, with the index of the one that failed.
func countWins(t *testing.T, what string, errs []error, target error) int {
	t.Helper()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantErr(t, fmt.Sprintf("%s %d", what, i), err, target)
	}
	return won
}
