package caddymodule

import (
	"time"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// The management API's JSON, shaped as Palette's so that its clients work unchanged.

type objectMeta struct {
	UID                   string            `json:"uid,omitempty"`
	Name                  string            `json:"name"`
	Annotations           map[string]string `json:"annotations,omitempty"`
	CreationTimestamp     string            `json:"creationTimestamp,omitempty"`
	LastModifiedTimestamp string            `json:"lastModifiedTimestamp,omitempty"`
}

type listMeta struct {
	Continue string `json:"continue"`
	Count    int    `json:"count"`
	Limit    int    `json:"limit"`
}

type list[T any] struct {
	Items    []T      `json:"items"`
	ListMeta listMeta `json:"listmeta"`
}

type uidAnswer struct {
	UID string `json:"uid"`
}

// timeString is the wire contract's time format, as in 2031-01-01T00:00:00.000Z; the zero
// time is left out.
func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(rfc3339Millis)
}

// apiKeyBody is a key create or edit request.
type apiKeyBody struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		UserUID      string `json:"userUid"`
		Expiry       string `json:"expiry"`
		ExpiryPreset string `json:"expiryPreset"`
	} `json:"spec"`
}

func (b apiKeyBody) request() manage.KeyRequest {
	return manage.KeyRequest{
		Name: b.Metadata.Name, Description: b.Metadata.Annotations["description"],
		UserUID: b.Spec.UserUID, Expiry: b.Spec.Expiry, ExpiryPreset: b.Spec.ExpiryPreset,
	}
}

type createdKey struct {
	APIKey string `json:"apiKey"`
	UID    string `json:"uid"`
}

// rollBody is a key roll request: {"overlap": "24h"}, a Go duration; "" for the default.
type rollBody struct {
	Overlap string `json:"overlap"`
}

type apiKeyJSON struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Expiry string      `json:"expiry"`
		Key    string      `json:"key"` // a hint, never the key
		User   userRefJSON `json:"user"`
	} `json:"spec"`
	Status struct {
		IsActive     bool   `json:"isActive"`
		IsExpired    bool   `json:"isExpired"`
		LastUsedTime string `json:"lastUsedTime,omitempty"`
		// RolledFrom and RolledTo link the two keys of a roll (uids), Keygate's own.
		RolledFrom string `json:"rolledFrom,omitempty"`
		RolledTo   string `json:"rolledTo,omitempty"`
	} `json:"status"`
}

type userRefJSON struct {
	UID       string `json:"uid"`
	EmailID   string `json:"emailId"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

func keyJSON(v manage.KeyView, now time.Time) apiKeyJSON {
	var j apiKeyJSON
	k := v.Key
	j.Metadata = objectMeta{UID: k.UID, Name: k.Name, CreationTimestamp: timeString(k.CreatedAt), LastModifiedTimestamp: timeString(k.UpdatedAt)}
	if k.Description != "" {
		j.Metadata.Annotations = map[string]string{"description": k.Description}
	}
	j.Spec.Expiry, j.Spec.Key = timeString(k.ExpiresAt), k.Hint
	j.Spec.User = userRefJSON{UID: v.Owner.UID, EmailID: v.Owner.Email, FirstName: v.Owner.FirstName, LastName: v.Owner.LastName}
	j.Status.IsActive = k.Active
	j.Status.IsExpired = !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) // zero: never expires
	j.Status.LastUsedTime = timeString(k.LastUsedAt)
	j.Status.RolledFrom, j.Status.RolledTo = k.RolledFrom, k.RolledTo
	return j
}

// stateBody is {"isActive": bool}; a missing field means false, as Palette sends it.
type stateBody struct {
	IsActive bool `json:"isActive"`
}

// userBody is a user create or edit request.
type userBody struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		EmailID   string `json:"emailId"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		Role      string `json:"role"`
		Password  string `json:"password"`
		// Roles and Teams are Palette's (v1UserSpecEntity): tenant role uids, team uids
		// (teams on create only). LoginMode is accepted and not kept: Keygate's users log
		// in with a password or a key.
		Roles     *[]string `json:"roles"`
		Teams     []string  `json:"teams"`
		LoginMode string    `json:"loginMode"`
	} `json:"spec"`
	Status struct {
		Active *bool `json:"active"`
	} `json:"status"`
}

func (b userBody) request() manage.UserRequest {
	r := manage.UserRequest{
		Email: b.Spec.EmailID, FirstName: b.Spec.FirstName, LastName: b.Spec.LastName,
		Role: storage.Role(b.Spec.Role), Password: b.Spec.Password, Active: b.Status.Active,
		Teams: b.Spec.Teams,
	}
	if b.Spec.Roles != nil {
		r.Roles, r.SetRoles = *b.Spec.Roles, true
	}
	return r
}

// userUpdateBody is Palette's v1UserUpdateEntity: a PUT that replaces names and, when
// spec.roles is sent, the tenant roles held directly. metadata.name is ignored (a
// user's name is their email).
type userUpdateBody struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		EmailID   string    `json:"emailId"`
		FirstName string    `json:"firstName"`
		LastName  string    `json:"lastName"`
		Roles     *[]string `json:"roles"`
	} `json:"spec"`
}

func (b userUpdateBody) request() manage.UserRequest {
	r := manage.UserRequest{Email: b.Spec.EmailID, FirstName: b.Spec.FirstName, LastName: b.Spec.LastName, ExactNames: true}
	if b.Spec.Roles != nil {
		r.Roles, r.SetRoles = *b.Spec.Roles, true
	}
	return r
}

type userJSON struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		EmailID   string `json:"emailId"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		Role      string `json:"role"`
		// Roles are the tenant roles the user holds directly (uids), as Palette's v1User.
		Roles []string `json:"roles"`
	} `json:"spec"`
	Status struct {
		Active   bool `json:"active"`
		IsActive bool `json:"isActive"` // Palette's name for Active
		// ActivationLink is the user's pending password link, for tenant admins only.
		ActivationLink string `json:"activationLink,omitempty"`
	} `json:"status"`
}

func userToJSON(u storage.User) userJSON {
	var j userJSON
	j.Metadata = objectMeta{UID: u.UID, Name: u.Email, CreationTimestamp: timeString(u.CreatedAt), LastModifiedTimestamp: timeString(u.UpdatedAt)}
	j.Spec.EmailID, j.Spec.FirstName, j.Spec.LastName, j.Spec.Role = u.Email, u.FirstName, u.LastName, string(u.Role)
	j.Spec.Roles = nonNil(u.Roles)
	j.Status.Active, j.Status.IsActive = !u.Disabled, !u.Disabled
	return j
}

type auditJSON struct {
	Metadata struct {
		UID               string `json:"uid"`
		CreationTimestamp string `json:"creationTimestamp"`
	} `json:"metadata"`
	Spec struct {
		Action string `json:"action"`
		Actor  struct {
			UID     string `json:"uid"`
			EmailID string `json:"emailId"`
		} `json:"actor"`
		Target struct {
			Kind string `json:"kind"`
			UID  string `json:"uid"`
		} `json:"target"`
		SourceIP string `json:"sourceIp"`
		Detail   string `json:"detail,omitempty"`
	} `json:"spec"`
}

func auditToJSON(e storage.AuditEvent) auditJSON {
	var j auditJSON
	j.Metadata.UID, j.Metadata.CreationTimestamp = e.ID, timeString(e.At)
	j.Spec.Action, j.Spec.SourceIP, j.Spec.Detail = e.Action, e.SourceIP, e.Detail
	j.Spec.Actor.UID, j.Spec.Actor.EmailID = e.ActorUID, e.ActorEmail
	j.Spec.Target.Kind, j.Spec.Target.UID = e.TargetKind, e.TargetUID
	return j
}

// nonNil is s, or an empty list for none: lists are [] on the wire, never null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// roleJSON is Palette's v1Role.
type roleJSON struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Permissions []string `json:"permissions"`
		Scope       string   `json:"scope"`
		Type        string   `json:"type"`
	} `json:"spec"`
	Status struct {
		IsEnabled bool `json:"isEnabled"`
	} `json:"status"`
}

func roleToJSON(r storage.RoleDef) roleJSON {
	var j roleJSON
	j.Metadata = objectMeta{UID: r.UID, Name: r.Name, CreationTimestamp: timeString(r.CreatedAt), LastModifiedTimestamp: timeString(r.UpdatedAt)}
	j.Spec.Permissions, j.Spec.Scope, j.Spec.Type = nonNil(r.Permissions), string(r.Scope), "custom"
	if r.BuiltIn {
		j.Spec.Type = "built-in"
	}
	j.Status.IsEnabled = true
	return j
}

// roleBody is a custom role to create, as Palette's v1Role.
type roleBody struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Permissions []string `json:"permissions"`
		Scope       string   `json:"scope"`
	} `json:"spec"`
}

// nameUID is Palette's {name, uid} reference.
type nameUID struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

func manageRole(b roleBody) manage.RoleRequest {
	return manage.RoleRequest{Name: b.Metadata.Name, Scope: storage.RoleScope(b.Spec.Scope), Permissions: b.Spec.Permissions}
}
