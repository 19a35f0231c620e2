package caddymodule

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

// The SCIM resources Keygate serves (RFC 7643): a user is a Keygate user (userName is
// the email, id the uid), a group a Keygate team (members are users).

// scimMeta is a resource's meta attribute.
type scimMeta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created"`
	LastModified string `json:"lastModified"`
	Location     string `json:"location"`
}

// scimName is a user's name attribute.
type scimName struct {
	Formatted  string `json:"formatted,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

// scimMultiValue is an entry of emails, groups or members.
type scimMultiValue struct {
	Value   string `json:"value"`
	Ref     string `json:"$ref,omitempty"`
	Display string `json:"display,omitempty"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// scimUser is a User resource as Keygate answers it.
type scimUser struct {
	Schemas     []string         `json:"schemas"`
	ID          string           `json:"id"`
	ExternalID  string           `json:"externalId,omitempty"`
	UserName    string           `json:"userName"`
	Name        scimName         `json:"name"`
	DisplayName string           `json:"displayName,omitempty"`
	Emails      []scimMultiValue `json:"emails"`
	Active      bool             `json:"active"`
	Groups      []scimMultiValue `json:"groups"`
	Meta        scimMeta         `json:"meta"`
}

// scimGroup is a Group resource as Keygate answers it.
type scimGroup struct {
	Schemas     []string          `json:"schemas"`
	ID          string            `json:"id"`
	ExternalID  string            `json:"externalId,omitempty"`
	DisplayName string            `json:"displayName"`
	Members     *[]scimMultiValue `json:"members,omitempty"` // nil with excludedAttributes=members
	Meta        scimMeta          `json:"meta"`
}

// scimList is a ListResponse.
type scimList[T any] struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []T      `json:"Resources"`
}

func scimTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// toSCIMUser is u as a User resource; base is the SCIM prefix's URL.
func toSCIMUser(u storage.User, externalID, base string) scimUser {
	groups := make([]scimMultiValue, 0, len(u.Teams))
	for _, uid := range u.Teams {
		groups = append(groups, scimMultiValue{Value: uid, Ref: base + "/Groups/" + uid})
	}
	return scimUser{
		Schemas: []string{scimUserSchema}, ID: u.UID, ExternalID: externalID, UserName: u.Email,
		Name:        scimName{Formatted: fullName(u.FirstName, u.LastName), GivenName: u.FirstName, FamilyName: u.LastName},
		DisplayName: fullName(u.FirstName, u.LastName),
		Emails:      []scimMultiValue{{Value: u.Email, Type: "work", Primary: true}},
		Active:      !u.Disabled, Groups: groups,
		Meta: scimMeta{ResourceType: "User", Created: scimTime(u.CreatedAt), LastModified: scimTime(u.UpdatedAt),
			Location: base + "/Users/" + u.UID},
	}
}

// toSCIMGroup is t as a Group resource, with its members unless withMembers is false.
func toSCIMGroup(t storage.Team, externalID, base string, withMembers bool) scimGroup {
	g := scimGroup{
		Schemas: []string{scimGroupSchema}, ID: t.UID, ExternalID: externalID, DisplayName: t.Name,
		Meta: scimMeta{ResourceType: "Group", Created: scimTime(t.CreatedAt), LastModified: scimTime(t.UpdatedAt),
			Location: base + "/Groups/" + t.UID},
	}
	if withMembers {
		members := make([]scimMultiValue, 0, len(t.Users))
		for _, uid := range t.Users {
			members = append(members, scimMultiValue{Value: uid, Ref: base + "/Users/" + uid})
		}
		g.Members = &members
	}
	return g
}

// scimUserBody is a User resource as an identity provider sends it (POST, PUT). What
// Keygate does not keep (phone numbers, titles, a password: its users sign in through
// the provider) is ignored.
type scimUserBody struct {
	UserName    string      `json:"userName"`
	ExternalID  *string     `json:"externalId"`
	Name        *scimName   `json:"name"`
	DisplayName string      `json:"displayName"`
	Active      scimBoolean `json:"active"`
}

// scimGroupBody is a Group resource as an identity provider sends it.
type scimGroupBody struct {
	DisplayName string           `json:"displayName"`
	ExternalID  *string          `json:"externalId"`
	Members     []scimMultiValue `json:"members"`
}

// scimBoolean is a boolean as identity providers send them: true, or "True" (Entra's
// PATCH values are strings). Set tells an absent one from false.
type scimBoolean struct {
	Set, Value bool
}

// UnmarshalJSON reads true, false, or a string of either in any case.
func (b *scimBoolean) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	var ok bool
	b.Value, ok = asBoolean(v)
	if !ok {
		return scimBad("invalidValue", "active must be true or false")
	}
	b.Set = true
	return nil
}

// asBoolean reads a JSON boolean, or a string "true"/"false" in any case.
func asBoolean(v any) (value, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// userMembers are the user uids of a members list.
func userMembers(members []scimMultiValue) []string {
	uids := make([]string, 0, len(members))
	for _, m := range members {
		uids = append(uids, m.Value)
	}
	return uids
}
