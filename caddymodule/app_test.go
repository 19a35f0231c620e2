package caddymodule

import "testing"

// A JSON config's login_cpu_share must be a share: 0 (unset) means the default.
func TestLoginCPUShareMustBeAShare(t *testing.T) {
	for share, ok := range map[float64]bool{0: true, 0.05: true, 1: true, -0.1: false, 1.5: false} {
		err := (&App{LoginCPUShare: share}).Validate()
		if ok != (err == nil) {
			t.Errorf("login_cpu_share %v: %v", share, err)
		}
	}
}
