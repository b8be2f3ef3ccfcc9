package model

import "math/rand/v2"

// Run names are two-word slugs, adjective then animal, like Prefect's.
var (
	adjectives = []string{"amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "daring", "eager",
		"fancy", "fearless", "gentle", "golden", "happy", "hidden", "icy", "jolly", "keen", "lively", "lucky", "merry",
		"misty", "nimble", "noble", "patient", "quick", "quiet", "rapid", "rustic", "shiny", "silent", "silver", "smart",
		"steady", "swift", "tidy", "vivid", "witty", "zealous"}
	animals = []string{"albatross", "badger", "beaver", "bison", "cheetah", "cobra", "coyote", "crane", "dolphin",
		"eagle", "falcon", "ferret", "gazelle", "gecko", "heron", "ibex", "jaguar", "koala", "lemur", "lynx", "marmot",
		"mole", "narwhal", "ocelot", "otter", "owl", "panda", "pelican", "puffin", "quail", "raven", "salmon", "seal",
		"sparrow", "tapir", "tiger", "toucan", "walrus", "wombat", "yak"}
)

// RunName returns a new run name: a two-word slug, adjective then animal.
func RunName() string {
	return adjectives[rand.IntN(len(adjectives))] + "-" + animals[rand.IntN(len(animals))]
}
