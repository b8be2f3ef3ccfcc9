package loadgen

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunCountsAnswers runs an open-loop load against a server that
// answers by the request's number, and checks every answer is counted
// where it belongs: OK, refused by Check, by error status, and "database is
// locked" bodies.
func TestRunCountsAnswers(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		body, _ := io.ReadAll(r.Body)
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		switch {
		case string(body) != `{"n":`+strconv.Itoa(i)+`}`:
			w.WriteHeader(http.StatusBadRequest)
		case i%10 == 0:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"detail": "database is locked"}`)
		case i%10 == 1:
			w.WriteHeader(http.StatusNotFound)
		case i%10 == 2:
			_, _ = io.WriteString(w, "wrong")
		default:
			_, _ = io.WriteString(w, "right")
		}
	}))
	defer srv.Close()

	// 1,000/s for 100 ms: exactly 100 requests, whatever the machine's speed.
	res := Run(t.Context(), Config{
		Connections: 4,
		Rate:        1000,
		Duration:    100 * time.Millisecond,
		Next: func(i int) Request {
			return Request{Method: "POST", URL: srv.URL + "/?i=" + strconv.Itoa(i), Body: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
		},
		Check: func(i int, body []byte) error {
			if string(body) != "right" {
				return errors.New("not right")
			}
			return nil
		},
	})
	if res.Requests != 100 || served.Load() != 100 {
		t.Fatalf("requests: %d counted, %d served; want 100", res.Requests, served.Load())
	}
	if res.OK != 70 || res.Failed() != 30 {
		t.Errorf("OK %d, failed %d; want 70 and 30", res.OK, res.Failed())
	}
	want := map[int]int{503: 10, 404: 10, 200: 10}
	if len(res.Errors) != len(want) || res.Errors[503] != 10 || res.Errors[404] != 10 || res.Errors[200] != 10 {
		t.Errorf("errors by status: %v; want %v", res.Errors, want)
	}
	if res.Locked != 10 {
		t.Errorf("locked: %d; want 10", res.Locked)
	}
	if res.FirstError == "" {
		t.Error("no first error recorded")
	}
	if !(res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max && res.Max > 0) {
		t.Errorf("percentiles out of order: p50 %v p90 %v p99 %v max %v", res.P50, res.P90, res.P99, res.Max)
	}
}

// TestCeilingServesTheBytes checks the ceiling handler answers the given
// bytes, and a closed-loop load against it counts transport errors once it
// is stopped.
func TestCeilingServesTheBytes(t *testing.T) {
	body := []byte(`{"id": "abc"}`)
	base, stop, err := Ceiling(body, "application/json")
	if err != nil {
		t.Fatal(err)
	}
	res := Run(t.Context(), Config{
		Connections: 2,
		Duration:    50 * time.Millisecond,
		Next:        func(int) Request { return Request{Method: "GET", URL: base + "/api/flow_runs/abc"} },
		Check: func(_ int, got []byte) error {
			if string(got) != string(body) {
				return errors.New("other bytes: " + string(got))
			}
			return nil
		},
	})
	if res.OK == 0 || res.Failed() != 0 {
		t.Fatalf("against the ceiling: %v (%s)", res, res.FirstError)
	}
	stop()
	res = Run(t.Context(), Config{
		Connections: 1,
		Rate:        100,
		Duration:    30 * time.Millisecond,
		Next:        func(int) Request { return Request{Method: "GET", URL: base + "/"} },
	})
	if res.Requests != 3 || res.Errors[0] != 3 {
		t.Fatalf("after stop: %v; want 3 transport errors", res)
	}
}
