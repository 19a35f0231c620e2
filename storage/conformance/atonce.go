package conformance

import "sync"

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
