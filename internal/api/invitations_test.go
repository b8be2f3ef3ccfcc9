package api

import (
	"net/http"
	"path"
	"testing"
)

// join has inviter invite invitee to inviter's account as role, and the
// invitee accept: the only way anyone joins an account.
func join(t *testing.T, inviter, invitee *tenant, role string) {
	t.Helper()
	inv := inviter.client.do("POST", "/accounts/"+inviter.accountID+"/members/", map[string]any{"email": invitee.email(), "role": role}).
		expect(http.StatusAccepted).object()
	invitee.client.do("POST", "/invitations/accept", map[string]any{"token": path.Base(inv["url"].(string))}).expect(http.StatusOK)
}
