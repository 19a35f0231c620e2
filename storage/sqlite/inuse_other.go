//go:build !unix

package sqlite

import "errors"

// shmLocked cannot tell on this platform; Restore then needs force.
func shmLocked(string) (bool, error) {
	return false, errors.New("cannot tell on this platform whether a gateway has the store open; stop every gateway on it and restore with force")
}
