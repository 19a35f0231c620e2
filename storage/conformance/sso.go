package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var ssoTests = []suiteTest{
	{"OIDCConfig/RoundTripAndReplace", testOIDCConfigRoundTrip},
	{"OIDCConfig/UnknownTenant", unknownIsNotFound("SetOIDCConfig(unknown tenant)", func(c context.Context, s storage.Store) error {
		return s.SetOIDCConfig(c, storage.OIDCConfig{TenantUID: "no-such-tenant", IssuerURL: "https://idp.example", UpdatedAt: t0})
	})},
	{"Identity/LinkOnceAndFollowUser", testIdentityLink},
	{"Identity/UnknownUser", unknownIsNotFound("LinkIdentity(unknown user)", func(c context.Context, s storage.Store) error {
		tn := newTenant(newUID("name"))
		if err := s.CreateTenant(c, tn); err != nil {
			return err
		}
		return s.LinkIdentity(c, storage.ExternalIdentity{TenantUID: tn.UID, Issuer: "https://idp.example", Subject: "s", UserUID: "no-such-user", CreatedAt: t0})
	})},
}

// testOIDCConfigRoundTrip: a tenant has no configuration until one is set; what is set
// reads back whole, per tenant, and a second set replaces the first.
func testOIDCConfigRoundTrip(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	_, err := s.OIDCConfig(ctx(t), tn.UID)
	wantErr(t, "OIDCConfig(none set)", err, storage.ErrNotFound)

	want := storage.OIDCConfig{
		TenantUID: tn.UID, IssuerURL: "https://idp.example/realms/acme", ClientID: "keygate",
		SealedSecret: []byte{1, 2, 3}, CallbackURL: "https://gw.example/v1/auth/org/acme/oidc/callback",
		LogoutURL: "https://gw.example/", Scopes: []string{"openid", "email"}, ScopesDelimiter: " ", Enabled: true,
		DefaultTeams: []string{"team-1"}, SyncTeams: true, CACertificatePEM: "-----BEGIN CERTIFICATE-----", InsecureSkipVerify: true,
		Claims: storage.OIDCClaims{Email: "mail", FirstName: "fn", LastName: "ln", Teams: "roles"}, UseUserInfo: true,
		UserInfoClaims: storage.OIDCClaims{Teams: "groups"}, CreateUsers: true, LinkUsers: true, UpdatedAt: t0,
	}
	mustOK(t, "SetOIDCConfig", s.SetOIDCConfig(ctx(t), want))
	got, err := s.OIDCConfig(ctx(t), tn.UID)
	mustOK(t, "OIDCConfig", err)
	sameRecord(t, "OIDCConfig", got, want)
	_, err = s.OIDCConfig(ctx(t), other.UID)
	wantErr(t, "OIDCConfig(other tenant)", err, storage.ErrNotFound)

	replaced := storage.OIDCConfig{TenantUID: tn.UID, IssuerURL: "https://other.example", ClientID: "c2", UpdatedAt: t0.Add(time.Minute)}
	mustOK(t, "SetOIDCConfig(again)", s.Update(ctx(t), func(tx storage.Tx) error { return tx.SetOIDCConfig(ctx(t), replaced) }))
	got, err = s.OIDCConfig(ctx(t), tn.UID)
	mustOK(t, "OIDCConfig(replaced)", err)
	if got.IssuerURL != replaced.IssuerURL || got.ClientID != "c2" || got.Enabled || len(got.SealedSecret) != 0 || !got.UpdatedAt.Equal(replaced.UpdatedAt.Truncate(time.Millisecond)) {
		t.Errorf("OIDCConfig after a replace = %+v, want %+v", got, replaced)
	}
}

// testIdentityLink: an issuer's subject names one user of a tenant, found again by it; a
// second link of the same subject conflicts; the same subject in another tenant is
// another identity; deleting the user ends the link.
func testIdentityLink(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	u := mustUser(t, s, tn.UID, "ann@acme.test", 0)
	v := mustUser(t, s, tn.UID, "bob@acme.test", time.Second)
	w := mustUser(t, s, other.UID, "ann@globex.test", 0)
	const issuer = "https://idp.example"
	_, err := s.UserByIdentity(ctx(t), tn.UID, issuer, "sub-1")
	wantErr(t, "UserByIdentity(unlinked)", err, storage.ErrNotFound)

	link := storage.ExternalIdentity{TenantUID: tn.UID, Issuer: issuer, Subject: "sub-1", UserUID: u.UID, CreatedAt: t0}
	mustOK(t, "LinkIdentity", s.Update(ctx(t), func(tx storage.Tx) error { return tx.LinkIdentity(ctx(t), link) }))
	got, err := s.UserByIdentity(ctx(t), tn.UID, issuer, "sub-1")
	mustOK(t, "UserByIdentity", err)
	if got.UID != u.UID {
		t.Errorf("UserByIdentity = %s, want %s", got.UID, u.UID)
	}
	again := link
	again.UserUID = v.UID
	wantErr(t, "LinkIdentity(same subject)", s.LinkIdentity(ctx(t), again), storage.ErrConflict)
	elsewhere := storage.ExternalIdentity{TenantUID: other.UID, Issuer: issuer, Subject: "sub-1", UserUID: w.UID, CreatedAt: t0}
	mustOK(t, "LinkIdentity(other tenant)", s.LinkIdentity(ctx(t), elsewhere))
	if _, err := s.UserByIdentity(ctx(t), tn.UID, "https://another.example", "sub-1"); err == nil {
		t.Error("UserByIdentity found the subject at another issuer")
	}

	mustOK(t, "DeleteUser", s.DeleteUser(ctx(t), u.UID))
	_, err = s.UserByIdentity(ctx(t), tn.UID, issuer, "sub-1")
	wantErr(t, "UserByIdentity(user deleted)", err, storage.ErrNotFound)
	mustOK(t, "LinkIdentity(after the user is gone)", s.LinkIdentity(ctx(t), again))
}
