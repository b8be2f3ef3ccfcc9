package main

import "testing"

// The expected firings follow Prefect's bucket rule for the workload's
// events: counted by hand for 5,000 events.
func TestEventSubscribersExpectedFirings(t *testing.T) {
	want := map[string]int{
		"each delta of res.7":       50,  // g % 100 == 7
		"each event of res.42":      100, // g % 50 == 42
		"10 alphas per resource":    25,  // the 25 even resources, 50 alphas each
		"25 events per resource":    50,  // 100 events each
		"100 betas":                 1,   // 1,250 betas, one window
		"200 gammas per shard":      3,   // about 417 per shard
		"more deltas than sent":     0,
		"5 of group.4 per resource": 10, // g % 5 == 4: 10 resources
	}
	for _, a := range evsubAutomations {
		w, ok := want[a.name]
		if !ok {
			continue
		}
		if got := a.expectedFirings(5000); got != w {
			t.Errorf("%q: %d firings expected, want %d", a.name, got, w)
		}
	}
}

// A delivery is exact only with every matching event once and nothing
// else: drops, duplicates and strays are each counted.
func TestDeliveryCheck(t *testing.T) {
	matchesEven := func(e evsubEvent) bool { return e.resource == "evsub.res.0" || e.resource == "evsub.res.2" }
	d := &delivery{count: make([]int, 100), unknown: 1}
	for g := range d.count {
		if matchesEven(evsubOf(g)) {
			d.count[g] = 1
		}
	}
	d.count[0] = 0 // dropped
	d.count[2] = 3 // two duplicates
	d.count[1] = 1 // not matching
	want, dropped, dups, unexpected := d.check(matchesEven)
	if want != 4 || dropped != 1 || dups != 2 || unexpected != 2 {
		t.Errorf("check = want %d, dropped %d, duplicates %d, unexpected %d; want 4, 1, 2, 2", want, dropped, dups, unexpected)
	}
}
