package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The pool pages and their forms hold the workspace's walls: another
// workspace's member gets not found for the page and the pause, a pool
// that does not exist is not found, a queue is paused only below its own
// pool, and a pause without the CSRF token is refused and changes nothing.
func TestWorkPoolPagesStayInTheirWorkspace(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "pia")
		api.pool("mine", "process", nil)
		api.pool("other", "process", nil)
		var queues []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		api.call("POST", "/work_pools/other/queues/filter", map[string]any{}, &queues)
		page := ws.path("/work-pools/work-pool/mine")
		wsPage(t, c, ws, "/work-pools/work-pool/mine")
		if r := c.get(ws.path("/work-pools/work-pool/nope")); r.Status != http.StatusNotFound {
			t.Errorf("a pool that does not exist answered %d", r.Status)
		}
		if r := c.postCSRF(page+"/queue/"+queues[0].ID+"/pause", nil); r.Status != http.StatusNotFound {
			t.Errorf("pausing the other pool's queue below mine answered %d", r.Status)
		}
		if r := c.post(page+"/pause", url.Values{}); r.Status != http.StatusForbidden {
			t.Errorf("a pause without the CSRF token answered %d", r.Status)
		}

		_, mallory, _ := newWorkspaceAPI(t, ts, "mallory")
		if r := mallory.get(page); r.Status != http.StatusNotFound || strings.Contains(r.Body, "mine") {
			t.Errorf("another workspace's member reads the pool page: %d", r.Status)
		}
		if r := mallory.postCSRF(page+"/pause", nil); r.Status != http.StatusNotFound {
			t.Errorf("another workspace's member's pause answered %d", r.Status)
		}
		var pools []struct {
			Name     string `json:"name"`
			IsPaused bool   `json:"is_paused"`
		}
		api.call("POST", "/work_pools/filter", map[string]any{}, &pools)
		var queueNow []struct {
			IsPaused bool `json:"is_paused"`
		}
		api.call("POST", "/work_pools/other/queues/filter", map[string]any{}, &queueNow)
		if len(pools) != 2 || pools[0].IsPaused || pools[1].IsPaused || queueNow[0].IsPaused {
			t.Errorf("after the refused posts the pools read %+v and the queue %+v", pools, queueNow)
		}
	})
}
