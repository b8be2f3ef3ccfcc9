package storetest

import "testing"

// TestConformanceCoversStore fails while a method of store.Store has no
// contract in the suite, or a contract names no method.
func TestConformanceCoversStore(t *testing.T) {
	checkCoverage(t)
}
