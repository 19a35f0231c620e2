package sessions

import (
	"errors"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
)

// The login results are the values of keygate_logins_total's result label: dashboards
// and alerts match them exactly.
func TestLoginResultsAreTheMetricLabels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{authcore.TooManyRequests(0), "throttled"},
		{authcore.LoginBusy(time.Second), "busy"},
		{authcore.ErrUserDisabled, "disabled"},
		{authcore.Unavailable(errors.New("connection refused")), "unavailable"},
		{authcore.BadRequest("no body"), "bad_request"},
		{authcore.ErrLoginFailed, "failed"},
	} {
		if got := loginResult(tc.err); got != tc.want {
			t.Errorf("loginResult(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
