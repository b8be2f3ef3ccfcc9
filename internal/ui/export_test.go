package ui

// SetRunsCountUpTo makes the runs list count n runs past its page, until
// the returned restore is called.
func SetRunsCountUpTo(n int) (restore func()) {
	was := runsCountUpTo
	runsCountUpTo = n
	return func() { runsCountUpTo = was }
}
