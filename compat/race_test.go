//go:build race

package compat

func init() { raceEnabled = true }
