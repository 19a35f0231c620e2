package sqlite

import (
	"time"

	"github.com/keygate/keygate/storage"
)

func testTenant() storage.Tenant {
	return storage.Tenant{UID: "t1", Name: "acme", CreatedAt: time.Now()}
}

func testAdmin() storage.User {
	return storage.User{
		UID: "u1", TenantUID: "t1", Email: "admin@example.com", Role: storage.RoleTenantAdmin,
		CreatedAt: time.Now(), UpdatedAt: time.Now(),
	}
}
