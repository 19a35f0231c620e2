package sso

import (
	"strings"

	"github.com/keygate/keygate/authcore"
)

// The standard claims a tenant's empty claim names stand for.
const (
	defaultEmailClaim = "email"
	defaultFirstClaim = "given_name"
	defaultLastClaim  = "family_name"
	// DefaultTeamsClaim is where groups are read when the tenant names no claim
	// (Palette's requiredClaims.SpectroTeam).
	DefaultTeamsClaim = "groups"
)

// Bounds on what a provider's claims may make of a user: more groups than this, or
// longer names, are a misconfigured or hostile provider.
const (
	maxGroups    = 200
	maxGroupName = 256
)

// identityOf reads the user's details from the claims, under the names the tenant
// configured (userinfo's names first when it is used, then the ID token's).
func identityOf(c Config, issuer, subject string, claims map[string]any) (Identity, error) {
	name := func(kind string) string { return claimName(c, kind) }
	email := strings.ToLower(str(claims[name("email")]))
	if email == "" {
		return Identity{}, errNoEmail
	}
	if authcore.CheckEmail(email) != nil {
		return Identity{}, failed("the identity provider's email address for this user is not one Keygate accepts")
	}
	if !verified(claims["email_verified"]) {
		return Identity{}, errUnverified
	}
	id := Identity{
		Issuer: issuer, Subject: subject, Email: email,
		FirstName: str(claims[name("first")]), LastName: str(claims[name("last")]),
	}
	groups, ok := groupsOf(claims[name("teams")])
	if !ok {
		return Identity{}, failed("the identity provider sent more groups, or longer group names, than Keygate takes")
	}
	id.Groups = groups
	return id, nil
}

// claimName is the claim the tenant names for kind, or the standard one.
func claimName(c Config, kind string) string {
	pick := func(names ...string) string {
		for _, n := range names {
			if n != "" {
				return n
			}
		}
		return ""
	}
	u, t := c.UserInfoClaims, c.Claims
	if !c.UseUserInfo {
		u = t
	}
	switch kind {
	case "email":
		return pick(u.Email, t.Email, defaultEmailClaim)
	case "first":
		return pick(u.FirstName, t.FirstName, defaultFirstClaim)
	case "last":
		return pick(u.LastName, t.LastName, defaultLastClaim)
	}
	return pick(u.Teams, t.Teams, DefaultTeamsClaim)
}

// verified reads email_verified, which providers send as a boolean or, some, a string.
// Absent is not verified: an unverified address could be anyone's (the "nOAuth" attack).
func verified(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// groupsOf reads a groups claim: a list of names, or one name; false when it is out of
// bounds.
func groupsOf(v any) ([]string, bool) {
	var groups []string
	switch v := v.(type) {
	case string:
		if v != "" {
			groups = []string{v}
		}
	case []any:
		for _, g := range v {
			if s := str(g); s != "" {
				groups = append(groups, s)
			}
		}
	}
	if len(groups) > maxGroups {
		return nil, false
	}
	for _, g := range groups {
		if len(g) > maxGroupName {
			return nil, false
		}
	}
	return groups, true
}
