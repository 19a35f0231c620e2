package sqlite

import (
	"path/filepath"
	"sync"
)

// How InUse tells that a store is open. In WAL mode every SQLite connection to a file, in
// any process, holds a shared lock on one byte of its -shm file, the "dead man switch" at
// offset 128 (SQLite's UNIX_SHM_DMS), from when it first reads the file until it closes;
// a connection that finds no one else there takes it exclusively to rebuild the wal-index.
// A gateway always has a connection open (its change watcher keeps one to ask
// PRAGMA data_version), so a probe for a write lock on that byte fails exactly while some
// connection in another process, idle or not, has the store open. SQLite's own locks would
// not do: in WAL mode BEGIN EXCLUSIVE only keeps out other writers, and succeeds beside an
// idle gateway.
//
// The kernel does not report a process's own POSIX locks to it, and closing any
// descriptor of a file drops all of them, so InUse never probes a file this process has
// open through Open: it counts those itself.

// shmDMS is the byte of the -shm file that every open WAL connection holds a shared lock on.
const shmDMS = 128

// openHere counts this process's open Stores by file.
var openHere = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func fileKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// countOpen adds d (1 or -1) to this process's count of open Stores on path.
func countOpen(path string, d int) {
	openHere.Lock()
	defer openHere.Unlock()
	k := fileKey(path)
	if openHere.n[k] += d; openHere.n[k] <= 0 {
		delete(openHere.n, k)
	}
}

// InUse reports whether a Store of this process or a connection of another process has
// the SQLite store at path open. A store with no -shm file is not open in WAL mode. Call it
// in a process that holds no database/sql connection of its own to the file outside Open.
func InUse(path string) (bool, error) {
	openHere.Lock()
	here := openHere.n[fileKey(path)] > 0
	openHere.Unlock()
	if here {
		return true, nil
	}
	return shmLocked(path + "-shm")
}
