package api

import (
	"math"
	"net/http"
	"time"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// maxHistoryIntervals is how many intervals Prefect's history answers at
// most.
const maxHistoryIntervals = 500

// runHistory answers POST /flow_runs/history (tasks false) and
// /task_runs/history: runs by interval of expected start time and state.
func (a *API) runHistory(tasks bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			store.RunQuery
			Start    *model.Time `json:"history_start"`
			End      *model.Time `json:"history_end"`
			Interval *float64    `json:"history_interval_seconds"`
		}
		body, err := decode(w, r, &in, false)
		if err != nil {
			return err
		}
		if err := requireFields(body, sentField{"history_start", in.Start != nil}, sentField{"history_end", in.End != nil},
			sentField{"history_interval_seconds", in.Interval != nil}); err != nil {
			return err
		}
		if *in.Interval < 1 {
			return detail(http.StatusUnprocessableEntity, "History interval must not be less than 1 second.")
		}
		// Prefect's intervals start at history_start, step by the interval
		// and stop at history_end: a last partial interval is kept.
		step := time.Duration(math.Round(*in.Interval)) * time.Second
		span := in.End.Sub(in.Start.Time)
		buckets := int(min((span+step-1)/step, maxHistoryIntervals))
		if span <= 0 {
			writeJSON(w, http.StatusOK, []any{})
			return nil
		}
		out, err := a.Store.RunHistory(r.Context(), workspaceID(r), tasks, store.HistoryQuery{Start: in.Start.Time, Interval: step, Buckets: buckets, Runs: in.RunQuery})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// lateness answers POST /flow_runs/lateness: the matching runs' mean
// estimated start delay in seconds, null when none match.
func (a *API) lateness(w http.ResponseWriter, r *http.Request) error {
	var q store.RunQuery
	if _, err := decode(w, r, &q, true); err != nil {
		return err
	}
	// One interval from 1970 to 2260 (the longest a Duration holds): the
	// sums of the run history are the totals of every run.
	start := time.Unix(0, 0).UTC()
	span := 290 * 365 * 24 * time.Hour
	h, err := a.Store.RunHistory(r.Context(), workspaceID(r), false, store.HistoryQuery{Start: start, Interval: span, Buckets: 1, Runs: q})
	if err != nil {
		return err
	}
	n, sum := 0, 0.0
	for _, s := range h[0].States {
		n += s.Count
		sum += s.SumEstimatedLateness
	}
	if n == 0 {
		writeJSON(w, http.StatusOK, nil)
		return nil
	}
	writeJSON(w, http.StatusOK, sum/float64(n))
	return nil
}
