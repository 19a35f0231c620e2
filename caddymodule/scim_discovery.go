package caddymodule

import (
	"net/http"

	"github.com/keygate/keygate/authcore"
)

// SCIM's discovery endpoints (RFC 7644 section 4), which identity providers read to learn
// what Keygate supports: PATCH and equality filters, no bulk, sorting, ETags or password
// changes (users sign in through the provider).

func (h *Handler) scimServiceProviderConfig(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	return writeSCIM(w, http.StatusOK, map[string]any{
		"schemas":          []string{scimSPConfigSchema},
		"documentationUri": "https://github.com/keygate/keygate#scim-provisioning",
		"patch":            map[string]bool{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": scimMaxResults},
		"changePassword":   map[string]bool{"supported": false},
		"sort":             map[string]bool{"supported": false},
		"etag":             map[string]bool{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "SCIM token", "primary": true,
			"description": "Authorization: Bearer <the tenant's SCIM token>, made by a tenant admin with POST /v1/tenants/{tenantUid}/scim/token",
		}},
		"meta": map[string]string{"resourceType": "ServiceProviderConfig", "location": h.scimBase(r) + "/ServiceProviderConfig"},
	})
}

func (h *Handler) scimResourceTypes(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	base := h.scimBase(r)
	types := []map[string]any{
		{"schemas": []string{scimResTypeSchema}, "id": "User", "name": "User", "endpoint": "/Users", "schema": scimUserSchema,
			"meta": map[string]string{"resourceType": "ResourceType", "location": base + "/ResourceTypes/User"}},
		{"schemas": []string{scimResTypeSchema}, "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": scimGroupSchema,
			"meta": map[string]string{"resourceType": "ResourceType", "location": base + "/ResourceTypes/Group"}},
	}
	return writeSCIM(w, http.StatusOK, scimList[map[string]any]{Schemas: []string{scimListSchema}, TotalResults: 2, StartIndex: 1, ItemsPerPage: 2, Resources: types})
}

// scimAttr describes one attribute of a schema.
func scimAttr(name, typ string, required bool, mutability string, sub ...map[string]any) map[string]any {
	a := map[string]any{"name": name, "type": typ, "multiValued": false, "required": required, "caseExact": false,
		"mutability": mutability, "returned": "default", "uniqueness": "none"}
	if len(sub) > 0 {
		a["subAttributes"] = sub
	}
	return a
}

// multi is a multi-valued attribute.
func multi(a map[string]any) map[string]any {
	a["multiValued"] = true
	return a
}

func (h *Handler) scimSchemas(w http.ResponseWriter, r *http.Request, _ authcore.Actor) error {
	base := h.scimBase(r)
	value := scimAttr("value", "string", false, "immutable")
	userName := scimAttr("userName", "string", true, "immutable")
	userName["uniqueness"] = "server"
	user := map[string]any{
		"schemas": []string{scimSchemaSchema}, "id": scimUserSchema, "name": "User", "description": "A Keygate user; userName is the email",
		"attributes": []map[string]any{
			scimAttr("id", "string", false, "readOnly"), scimAttr("externalId", "string", false, "readWrite"), userName,
			scimAttr("name", "complex", false, "readWrite", scimAttr("givenName", "string", false, "readWrite"),
				scimAttr("familyName", "string", false, "readWrite"), scimAttr("formatted", "string", false, "readOnly")),
			scimAttr("displayName", "string", false, "readOnly"),
			multi(scimAttr("emails", "complex", false, "readOnly", value)),
			scimAttr("active", "boolean", false, "readWrite"),
			multi(scimAttr("groups", "complex", false, "readOnly", value)),
		},
		"meta": map[string]string{"resourceType": "Schema", "location": base + "/Schemas/" + scimUserSchema},
	}
	group := map[string]any{
		"schemas": []string{scimSchemaSchema}, "id": scimGroupSchema, "name": "Group", "description": "A Keygate team; members are users",
		"attributes": []map[string]any{
			scimAttr("id", "string", false, "readOnly"), scimAttr("externalId", "string", false, "readWrite"),
			scimAttr("displayName", "string", true, "readWrite"),
			multi(scimAttr("members", "complex", false, "readWrite", scimAttr("value", "string", false, "immutable"))),
		},
		"meta": map[string]string{"resourceType": "Schema", "location": base + "/Schemas/" + scimGroupSchema},
	}
	return writeSCIM(w, http.StatusOK, scimList[map[string]any]{Schemas: []string{scimListSchema}, TotalResults: 2, StartIndex: 1, ItemsPerPage: 2, Resources: []map[string]any{user, group}})
}
