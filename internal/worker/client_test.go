package worker

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A server that is briefly unavailable (503, as Prefect's server answers
// while busy) is asked again; a 4xx is not.
func TestClientRetriesUnavailable(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Path == "/api/work_pools/busy/workers/heartbeat" && n == 1:
			http.Error(w, `{"exception_message":"Service Unavailable"}`, http.StatusServiceUnavailable)
		case r.URL.Path == "/api/work_pools/busy/workers/heartbeat":
			if r.Header.Get("Authorization") != "Bearer pnu_k" {
				http.Error(w, `{"detail":"no key"}`, http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, `{"detail":"Not Found"}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c := NewClient(srv.URL+"/api/", "pnu_k")
	if err := c.Heartbeat(t.Context(), "busy", "w", 30*time.Second); err != nil || calls.Load() != 2 {
		t.Fatalf("heartbeat after one 503: %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	if _, err := c.ReadPool(t.Context(), "missing"); !IsStatus(err, http.StatusNotFound) || calls.Load() != 1 {
		t.Errorf("a 404: %v after %d calls", err, calls.Load())
	}
}
