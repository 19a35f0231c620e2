//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// shmLocked asks the kernel (F_GETLK) whether a write lock on the -shm file's dead man
// switch byte would conflict with a lock another process holds.
func shmLocked(shm string) (bool, error) {
	f, err := os.Open(shm)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: shmDMS, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return false, fmt.Errorf("probe the lock on %s: %w", shm, err)
	}
	return lk.Type != unix.F_UNLCK, nil
}
