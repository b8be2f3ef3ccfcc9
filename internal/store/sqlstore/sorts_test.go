package sqlstore

import (
	"slices"
	"sort"
	"testing"

	"github.com/praetorhq/praetor/internal/store"
)

// Every sort the API accepts has an order here, and there is none it does
// not accept (besides "", the default).
func TestSortsMatchTheAPI(t *testing.T) {
	for name, c := range map[string]struct {
		accepted []string
		orders   map[string]string
	}{
		"flows":     {store.FlowSorts, flowSorts},
		"flow runs": {store.FlowRunSorts, flowRunSorts},
		"task runs": {store.TaskRunSorts, taskRunSorts},
		"variables": {store.VariableSorts, variableSorts},
		"artifacts": {store.ArtifactSorts, artifactSorts},
	} {
		var have []string
		for k := range c.orders {
			if k != "" {
				have = append(have, k)
			}
		}
		sort.Strings(have)
		want := slices.Sorted(slices.Values(c.accepted))
		if !slices.Equal(have, want) {
			t.Errorf("%s: orders for %v, the API accepts %v", name, have, want)
		}
	}
}
