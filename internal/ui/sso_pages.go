package ui

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/sso"
	"github.com/praetorhq/praetor/internal/tenancy"
	"golang.org/x/oauth2"
)

// ssoRoutes are sign-in with identity providers and the account setting
// that requires it.
func (u *UI) ssoRoutes(mux *http.ServeMux) {
	u.handle(mux, "GET /auth/sso/{provider}", anyone, u.ssoStart)
	u.handle(mux, "GET /auth/sso/{provider}/callback", anyone, u.ssoCallback)
	u.handle(mux, "GET /account/{account_id}/settings", accountMember, u.accountSettings)
	u.handle(mux, "POST /account/{account_id}/settings/sso", accountMember, u.changeAccountSSO)
}

// ssoCookie binds a sign-in in progress to the browser that started it: a
// callback arriving in another browser (a victim sent the attacker's own
// callback link, to sign them in as the attacker) finds no matching cookie.
const ssoCookie = "praetor_sso"

// ssoLoginTTL is how long a sign-in may take at the provider.
const ssoLoginTTL = 10 * time.Minute

// SSOProviders are the configured providers, for the sign-in and
// registration pages' buttons.
func (q *request) SSOProviders() []*sso.Provider { return q.ui.Providers }

func (u *UI) provider(id string) *sso.Provider {
	for _, p := range u.Providers {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// ssoRedirectURL is the provider's callback on this server, as registered
// with the provider: under the public URL when one is set.
func (u *UI) ssoRedirectURL(q *request, p *sso.Provider) string {
	base := strings.TrimSuffix(u.PublicURL, "/")
	if base == "" {
		base = httpx.BaseURL(q.r)
	}
	return base + "/auth/sso/" + p.ID + "/callback"
}

// ssoStart sends the browser to the provider, having stored what the
// callback must match: the state's and the browser cookie's hashes, the
// nonce and the PKCE verifier.
func (u *UI) ssoStart(q *request) error {
	p := u.provider(q.r.PathValue("provider"))
	if p == nil {
		return errNotFound()
	}
	if err := u.Authn.AllowProviderSignIn(auth.ClientAddr(q.r)); err != nil {
		return u.render(q, http.StatusTooManyRequests, "signin.html", signInData{SignUp: u.SignUp, Error: "Too many attempts. Wait a minute and try again."})
	}
	var toks [3]string
	for i := range toks {
		t, err := auth.NewToken(32)
		if err != nil {
			return err
		}
		toks[i] = t
	}
	state, nonce, browser := toks[0], toks[1], toks[2]
	verifier := oauth2.GenerateVerifier()
	target, err := p.AuthCodeURL(q.ctx(), u.ssoRedirectURL(q, p), state, nonce, verifier)
	if err != nil {
		return u.ssoFailed(q, p, http.StatusBadGateway, err)
	}
	l := &model.SSOLogin{StateHash: auth.HashKey(state), Provider: p.ID, BrowserHash: auth.HashKey(browser), Nonce: nonce,
		Verifier: verifier, Next: q.r.URL.Query().Get("next"), Expires: model.At(u.Clock.Now().Add(ssoLoginTTL))}
	if err := u.Store.CreateSSOLogin(q.ctx(), l); err != nil {
		return fmt.Errorf("store sso login: %w", err)
	}
	// Lax, not Strict: the provider's redirect back is a cross-site
	// navigation, on which a Strict cookie would not be sent.
	http.SetCookie(q.w, &http.Cookie{Name: q.cookieName(ssoCookie), Value: browser, Path: "/", HttpOnly: true, Secure: q.secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(ssoLoginTTL / time.Second)})
	q.w.Header().Set("Cache-Control", "no-store")
	return q.redirect(target)
}

var (
	errSSOStale   = &sso.Error{Reason: "This sign-in has expired or was already used. Start again."}
	errSSOBrowser = &sso.Error{Reason: "This sign-in was started in another browser. Start again here."}
)

// ssoCallback finishes a sign-in: the state must be one this browser
// started and not used before (it is deleted as it is read), the code is
// exchanged with the verifier, the identity checked (tenancy), and the
// session made as a password sign-in makes it.
func (u *UI) ssoCallback(q *request) error {
	p := u.provider(q.r.PathValue("provider"))
	if p == nil {
		return errNotFound()
	}
	// The cookie has served its purpose whatever happens next.
	http.SetCookie(q.w, &http.Cookie{Name: q.cookieName(ssoCookie), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: q.secure()})
	query := q.r.URL.Query()
	state := query.Get("state")
	if state == "" {
		return u.ssoFailed(q, p, http.StatusBadRequest, errSSOStale)
	}
	l, err := u.Store.TakeSSOLogin(q.ctx(), auth.HashKey(state))
	if apperr.IsNotFound(err) {
		return u.ssoFailed(q, p, http.StatusBadRequest, errSSOStale)
	}
	if err != nil {
		return err
	}
	c, err := q.r.Cookie(q.cookieName(ssoCookie))
	if err != nil || l.Provider != p.ID || subtle.ConstantTimeCompare([]byte(auth.HashKey(c.Value)), []byte(l.BrowserHash)) != 1 {
		return u.ssoFailed(q, p, http.StatusBadRequest, errSSOBrowser)
	}
	// From here on a sign-in this browser started (so one the sign-in
	// limits let through) fails or succeeds: a failure is recorded in the
	// audit log, with the email when the provider told it.
	if e := query.Get("error"); e != "" {
		return u.ssoRefused(q, p, "", http.StatusUnauthorized, &sso.Error{Reason: p.Name + " did not sign you in (" + e + ")."})
	}
	id, err := p.Exchange(q.ctx(), u.ssoRedirectURL(q, p), query.Get("code"), l.Verifier, l.Nonce)
	if err != nil {
		return u.ssoRefused(q, p, "", http.StatusUnauthorized, err)
	}
	user, how, err := tenancy.SignInWithIdentity(q.ctx(), u.Store, p, id, u.SignUp)
	if err != nil {
		return u.ssoRefused(q, p, id.Email, http.StatusForbidden, err)
	}
	return u.ssoSignedIn(q, p, user, how, l.Next)
}

// ssoSignedIn starts the session of a user a provider signed in (how is
// tenancy's IdentityKnown, IdentityLinked or IdentityCreated) and sends
// them on. This is the one place a provider's sign-in succeeds.
func (u *UI) ssoSignedIn(q *request, p *sso.Provider, user *model.User, how, next string) error {
	if err := q.startSession(user, p.ID); err != nil {
		return err
	}
	u.Logger.Info("signed in with an identity provider", "provider", p.ID, "user", user.ID, "how", how, "addr", auth.ClientAddr(q.r))
	if how != tenancy.IdentityCreated {
		return q.redirect(safeNext(next))
	}
	// As after registering with a password.
	if u.Anonymous && auth.LocalRequest(q.r) {
		if _, err := u.Store.ClaimDefaultAccount(q.ctx(), user.ID); err != nil {
			u.Logger.Error("claim the default account", "user", user.ID, "err", err)
		}
	}
	if next != "" {
		return q.redirect(safeNext(next))
	}
	return q.redirect("/workspaces/new")
}

// ssoRefused is ssoFailed for a sign-in that got as far as the provider's
// answer, recorded as a failed sign-in (of email, "" when unknown).
func (u *UI) ssoRefused(q *request, p *sso.Provider, email string, status int, err error) error {
	if rerr := u.Store.RecordFailedSignIn(q.ctx(), auth.NormalizeEmail(email), "identity provider "+p.ID+": "+err.Error()); rerr != nil {
		u.Logger.Error("record a failed sign-in", "err", rerr)
	}
	return u.ssoFailed(q, p, status, err)
}

// ssoFailed answers a refused sign-in with a provider: the sign-in page
// with the reason. This is the one place such a refusal is answered.
func (u *UI) ssoFailed(q *request, p *sso.Provider, status int, err error) error {
	var se *sso.Error
	var ae *apperr.Error
	msg := ""
	switch {
	case errors.As(err, &se):
		msg = se.Reason
	case errors.As(err, &ae):
		msg = ae.Message
	default:
		return err
	}
	u.Logger.Info("sign-in with an identity provider refused", "provider", p.ID, "addr", auth.ClientAddr(q.r), "err", err)
	return u.render(q, status, "signin.html", signInData{SignUp: u.SignUp, Error: msg})
}

type accountSettingsData struct {
	CanAdmin    bool
	SSORequired bool
	// Linked: the viewer can sign in with a provider, so requiring one
	// cannot lock them out.
	Linked bool
	Error  string
}

func (u *UI) renderAccountSettings(q *request, status int, data accountSettingsData) error {
	var err error
	if data.SSORequired, err = u.Store.AccountSSORequired(q.ctx(), q.Account.ID); err != nil {
		return fmt.Errorf("account sso setting: %w", err)
	}
	ids, err := u.Store.ListIdentities(q.ctx(), q.User.ID)
	if err != nil {
		return fmt.Errorf("list identities: %w", err)
	}
	data.CanAdmin, data.Linked = tenancy.CanAdminAccount(q.AccountRole), len(ids) > 0
	return u.render(q, status, "account_settings.html", data)
}

func (u *UI) accountSettings(q *request) error {
	return u.renderAccountSettings(q, http.StatusOK, accountSettingsData{})
}

func (u *UI) changeAccountSSO(q *request) error {
	if !tenancy.CanAdminAccount(q.AccountRole) {
		return &httpError{http.StatusForbidden, "Only the account's owners and admins can change how its members sign in."}
	}
	required := q.r.PostForm.Get("sso_required") == "on"
	if required {
		ids, err := u.Store.ListIdentities(q.ctx(), q.User.ID)
		if err != nil {
			return fmt.Errorf("list identities: %w", err)
		}
		if len(u.Providers) == 0 || len(ids) == 0 {
			return u.renderAccountSettings(q, http.StatusUnprocessableEntity, accountSettingsData{
				Error: "Sign in with an identity provider yourself first: requiring one would otherwise lock you out."})
		}
	}
	return u.setAccountSSO(q, required)
}

// setAccountSSO changes whether the path's account requires its members to
// sign in with a provider. This is the one place that setting changes.
func (u *UI) setAccountSSO(q *request, required bool) error {
	if err := u.Store.SetAccountSSORequired(q.ctx(), q.Account.ID, required); err != nil {
		return fmt.Errorf("set account sso: %w", err)
	}
	u.Logger.Info("account sign-in setting changed", "account", q.Account.ID, "sso_required", required, "by", q.User.ID)
	text := "Members of " + q.Account.Handle + " may sign in with a password again."
	if required {
		text = "Members of " + q.Account.Handle + " must now sign in with an identity provider; their API keys keep working."
	}
	return q.redirectFlash("/account/"+q.Account.ID.String()+"/settings", flash{Text: text})
}

// ssoRequiredMessage refuses the password of a member of an account that
// requires SSO, naming the buttons to use instead.
func (u *UI) ssoRequiredMessage() string {
	names := make([]string, len(u.Providers))
	for i, p := range u.Providers {
		names[i] = "“Continue with " + p.Name + "”"
	}
	if len(names) == 0 {
		return "Your account requires signing in with an identity provider, and this server has none configured. Ask its administrator."
	}
	return "Your account requires signing in with an identity provider: use " + strings.Join(names, " or ") + " above."
}
