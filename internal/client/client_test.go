package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Busy answers (429, 5xx) are retried with the server's Retry-After or the
// back-off; other refusals are not retried and keep Prefect's detail.
func TestRetriesBusyAnswers(t *testing.T) {
	var calls atomic.Int32
	var retryAfterWait atomic.Int64
	var last atomic.Int64 // unix nanoseconds of the 429
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch n {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			last.Store(time.Now().UnixNano())
			w.Header().Set("Retry-After", "0.3")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			retryAfterWait.Store(time.Now().UnixNano() - last.Load())
			w.Write([]byte(`[{"id":"7c7bc7c2-2d3e-4c30-9cc8-c04d7f1e1b43","name":"f"}]`))
		}
	}))
	defer srv.Close()
	c := New(srv.URL, Credentials{APIKey: "k"})
	c.Backoff = time.Millisecond
	flows, err := c.Flows(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || flows[0].Name != "f" || calls.Load() != 3 {
		t.Fatalf("flows %+v after %d calls", flows, calls.Load())
	}
	if w := time.Duration(retryAfterWait.Load()); w < 300*time.Millisecond {
		t.Errorf("retried %v after a Retry-After of 0.3 s", w)
	}

	// A server that stays busy: the last answer is the error, after Retries.
	calls.Store(0)
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer busy.Close()
	c = New(busy.URL, Credentials{})
	c.Backoff, c.Retries = time.Millisecond, 2
	if _, err := c.Flows(context.Background(), Filter{}); !IsStatus(err, http.StatusBadGateway) || calls.Load() != 3 {
		t.Errorf("err %v after %d calls, want a 502 after 3", err, calls.Load())
	}
}

func TestRefusalsAreNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"detail":"Invalid authentication credentials"}`))
	}))
	defer srv.Close()
	_, err := New(srv.URL, Credentials{APIKey: "k"}).Flows(context.Background(), Filter{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 401 || se.Detail != "Invalid authentication credentials" || calls.Load() != 1 {
		t.Errorf("err %v after %d calls", err, calls.Load())
	}
}

// The Python client's rules: the key as a Bearer token; without a key,
// PREFECT_API_AUTH_STRING as HTTP Basic.
func TestAuthHeaders(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		cred Credentials
		want string
	}{
		{Credentials{APIKey: "pnu_k", AuthString: "u:p"}, "Bearer pnu_k"},
		{Credentials{AuthString: "u:p"}, "Basic dTpw"},
		{Credentials{}, ""},
	} {
		if _, err := New(srv.URL, tc.cred).Flows(context.Background(), Filter{}); err != nil {
			t.Fatal(err)
		}
		if got.Load() != tc.want {
			t.Errorf("%+v sent Authorization %q, want %q", tc.cred, got.Load(), tc.want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := New("http://"+addr+"/api", Credentials{})
	c.Backoff = time.Millisecond
	_, err = c.Flows(context.Background(), Filter{})
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Errorf("err = %v, want an UnreachableError", err)
	}
}
