package tests

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// Failed logins are counted across the cluster on PostgreSQL: ten wrong passwords for one
// account, alternating between two nodes, get at most five password checks (401 each);
// every later attempt, on either node, is refused with 429 without one, and so is the
// right password, until the window ends.
func TestAccountLockoutHoldsAcrossNodes(t *testing.T) {
	a, b, _ := startTwoNodes(t)
	checked := 0
	for i := range 10 {
		n := []*node{a, b}[i%2]
		res, _, body := n.login(t, "", `{"emailId":"dev@acme.test","password":"wrong `+fmt.Sprint(i)+`"}`, nil)
		switch res.StatusCode {
		case http.StatusUnauthorized:
			checked++
			if checked > 5 {
				t.Fatalf("attempt %d on %s: a sixth password check (401 %s); want 429 after five", i+1, n.name, body)
			}
		case http.StatusTooManyRequests:
			if checked < 5 {
				t.Fatalf("attempt %d on %s: 429 after %d password checks, want five first", i+1, n.name, checked)
			}
			if res.Header.Get("Retry-After") == "" {
				t.Errorf("attempt %d on %s: 429 without Retry-After", i+1, n.name)
			}
		default:
			t.Fatalf("attempt %d on %s: %d %s, want 401 or 429", i+1, n.name, res.StatusCode, body)
		}
	}
	for _, n := range []*node{a, b} {
		if got := n.loginStatus(t, "dev@acme.test", nodeAdminPassword); got != http.StatusTooManyRequests {
			t.Errorf("right password on %s while locked: %d, want 429", n.name, got)
		}
	}
	t.Logf("ten wrong passwords alternating between two nodes: %d password checks", checked)
}

// The client network's count is the cluster's too: with client_failure_limit 6, six
// wrong passwords for six different accounts, alternating between the nodes, are checked,
// and the seventh is refused with 429 on whichever node it reaches.
func TestClientLockoutHoldsAcrossNodes(t *testing.T) {
	dsn := pgtest.Schema(t)
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	nodes := startNodes(t, dsn, upstream.URL, "client_failure_limit 6", "client_failure_limit 6")
	seedCluster(t, dsn)
	for i := range 6 {
		if got := nodes[i%2].loginStatus(t, fmt.Sprintf("nobody%d@acme.test", i), "guess"); got != http.StatusUnauthorized {
			t.Fatalf("guess %d on %s: %d, want 401", i+1, nodes[i%2].name, got)
		}
	}
	for i, n := range nodes {
		if got := n.loginStatus(t, fmt.Sprintf("other%d@acme.test", i), "guess"); got != http.StatusTooManyRequests {
			t.Errorf("a seventh guess from the same client on %s: %d, want 429", n.name, got)
		}
	}
}
