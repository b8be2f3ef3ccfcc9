package automations

import (
	"path"
	"slices"
	"strings"

	"github.com/praetorhq/praetor/internal/model"
)

// Glob reports whether s matches pattern as Python's fnmatchcase does,
// which Prefect uses for event names and label values: "*" is any run of
// characters, "?" one character, "[…]" a class.
func Glob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return pattern == s
	}
	// path.Match is fnmatch but for "/", which "*" and "?" do not cross
	// there: match a copy without slashes where the pattern has none.
	if strings.Contains(s, "/") && !strings.Contains(pattern, "/") {
		return globSlashes(pattern, s)
	}
	// fnmatch negates a class with "!" and has no escapes; path.Match
	// negates with "^" and escapes with "\".
	ok, err := path.Match(strings.ReplaceAll(strings.ReplaceAll(pattern, `\`, `\\`), "[!", "[^"), s)
	if err != nil {
		// fnmatch reads an unclosed "[" as itself.
		return pattern == s
	}
	return ok
}

// globSlashes matches with "*" and "?" crossing "/", by matching runes in
// turn; classes are left to path.Match on the single character.
func globSlashes(pattern, s string) bool {
	const sub = "\x00"
	return Glob(strings.ReplaceAll(pattern, "/", sub), strings.ReplaceAll(s, "/", sub))
}

// LabelMatches reports whether a label's value matches an expected value of
// a ResourceSpec: a glob, negated by a leading "!". A missing label never
// matches.
func LabelMatches(expected string, value string, present bool) bool {
	if !present {
		return false
	}
	if neg, ok := strings.CutPrefix(expected, "!"); ok {
		return !Glob(neg, value)
	}
	return Glob(expected, value)
}

// SpecMatches reports whether a resource has every label of spec with one
// of its values.
func SpecMatches(spec model.ResourceSpec, r model.Resource) bool {
	for label, want := range spec {
		value, present := r[label]
		if !slices.ContainsFunc(want.Values, func(e string) bool { return LabelMatches(e, value, present) }) {
			return false
		}
	}
	return true
}

// SpecIncludes reports whether spec matches one of the resources; an empty
// spec includes everything, even no resources.
func SpecIncludes(spec model.ResourceSpec, rs []model.Resource) bool {
	if len(spec) == 0 {
		return true
	}
	return slices.ContainsFunc(rs, func(r model.Resource) bool { return SpecMatches(spec, r) })
}

// Covers reports whether an event trigger is interested in e: its name is
// one the trigger expects or starts after, its resource matches match and
// its related resources match every match_related.
func Covers(t *model.Trigger, e *model.Event) bool {
	if len(t.Expect) > 0 && !slices.ContainsFunc(append(slices.Clip(t.Expect), t.After...), func(p string) bool { return Glob(p, e.Event) }) {
		return false
	}
	if !SpecIncludes(t.Match, []model.Resource{e.Resource}) {
		return false
	}
	for _, spec := range t.MatchRelated {
		if !SpecIncludes(spec, e.Related) {
			return false
		}
	}
	return true
}

// Expects reports whether an event of this name counts for the trigger.
func Expects(t *model.Trigger, event string) bool {
	return len(t.Expect) == 0 || slices.ContainsFunc(t.Expect, func(p string) bool { return Glob(p, event) })
}

// StartsAfter reports whether an event of this name opens the trigger's
// window.
func StartsAfter(t *model.Trigger, event string) bool {
	return slices.ContainsFunc(t.After, func(p string) bool { return Glob(p, event) })
}

// FindLabel returns a label of the event's resource, or with
// "related:<role>:<label>" of its first related resource in that role.
func FindLabel(e *model.Event, label string) string {
	directive, relatedLabel, found := cutLast(label, ":")
	if found {
		if kind, role, ok := strings.Cut(directive, ":"); ok && kind == "related" {
			for _, r := range e.Related {
				if r.Role() == role {
					return r[relatedLabel]
				}
			}
			return e.Resource[label]
		}
	}
	return e.Resource[label]
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+len(sep):], true
}

// BucketingKey is the values of the trigger's for_each labels on e, in the
// labels' sorted order: each distinct key counts on its own.
func BucketingKey(t *model.Trigger, e *model.Event) []string {
	labels := slices.Sorted(slices.Values(t.ForEach))
	key := make([]string, len(labels))
	for i, l := range labels {
		key[i] = FindLabel(e, l)
	}
	return key
}

// TriggeringLabels names the values of a bucketing key by their labels.
func TriggeringLabels(t *model.Trigger, key []string) map[string]string {
	labels := slices.Sorted(slices.Values(t.ForEach))
	out := make(map[string]string, len(labels))
	for i, l := range labels {
		if i < len(key) {
			out[l] = key[i]
		}
	}
	return out
}
