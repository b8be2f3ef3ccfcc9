package ui

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// accountRoutes are the Cloud pages: sign-in, registration, workspaces,
// API keys.
func (u *UI) accountRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", u.page(u.home))
	mux.HandleFunc("GET /signin", u.page(u.signInForm))
	mux.HandleFunc("POST /signin", u.page(u.signIn))
	mux.HandleFunc("GET /register", u.page(u.registerForm))
	mux.HandleFunc("POST /register", u.page(u.register))
	mux.HandleFunc("POST /signout", u.page(u.signOut))
	mux.HandleFunc("GET /workspaces", u.signedIn(u.workspaces))
}

// home sends a signed-in user to their workspaces, others to sign in.
func (u *UI) home(q *request) error {
	if q.User == nil {
		return q.redirect("/signin")
	}
	return q.redirect("/workspaces")
}

type signInData struct {
	Email, Next, Error string
	SignUp             bool
}

// safeNext keeps post-sign-in redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/workspaces"
	}
	return next
}

func (u *UI) signInForm(q *request) error {
	return u.render(q, http.StatusOK, "signin.html", signInData{Next: q.r.URL.Query().Get("next"), SignUp: u.SignUp})
}

func (u *UI) signIn(q *request) error {
	email, next := q.r.PostForm.Get("email"), q.r.PostForm.Get("next")
	addr, _, _ := net.SplitHostPort(q.r.RemoteAddr)
	user, err := u.Authn.SignIn(q.ctx(), email, q.r.PostForm.Get("password"), addr)
	if err != nil {
		data := signInData{Email: email, Next: next, SignUp: u.SignUp, Error: "Wrong email or password."}
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, auth.ErrRateLimited):
			data.Error, status = "Too many attempts. Wait a few minutes and try again.", http.StatusTooManyRequests
		case !errors.Is(err, auth.ErrInvalidCredentials):
			return err
		}
		return u.render(q, status, "signin.html", data)
	}
	if err := q.startSession(user); err != nil {
		return err
	}
	return q.redirect(safeNext(next))
}

type registerData struct {
	Email, DisplayName, Handle, Error string
}

func (u *UI) registerForm(q *request) error {
	if !u.SignUp {
		return &httpError{http.StatusForbidden, "Registration is closed on this server. Ask an administrator for an account."}
	}
	return u.render(q, http.StatusOK, "register.html", registerData{})
}

func (u *UI) register(q *request) error {
	if !u.SignUp {
		return &httpError{http.StatusForbidden, "Registration is closed on this server. Ask an administrator for an account."}
	}
	f := q.r.PostForm
	in := tenancy.SignUp{Email: f.Get("email"), Password: f.Get("password"), Handle: f.Get("handle"), DisplayName: f.Get("display_name")}
	user, _, err := tenancy.RegisterUser(q.ctx(), u.Store, in)
	if err != nil {
		var se *store.Error
		if !errors.As(err, &se) {
			return err
		}
		return u.render(q, http.StatusUnprocessableEntity, "register.html", registerData{Email: in.Email, DisplayName: in.DisplayName, Handle: in.Handle, Error: se.Message})
	}
	if err := q.startSession(user); err != nil {
		return err
	}
	// A new account starts by making its first workspace.
	return q.redirect("/workspaces/new")
}

func (u *UI) signOut(q *request) error {
	if err := q.endSession(); err != nil {
		return err
	}
	return q.redirect("/signin")
}

func (u *UI) workspaces(q *request) error {
	list, err := u.Store.ListWorkspaces(q.ctx(), q.User.ID)
	if err != nil {
		return err
	}
	return u.render(q, http.StatusOK, "workspaces.html", list)
}
