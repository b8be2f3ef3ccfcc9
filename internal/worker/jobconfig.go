package worker

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
)

// JobVariables merges a run's job variables as Prefect's workers do: the
// defaults of the pool template's variables, overridden by the
// deployment's job variables, overridden by the flow run's. `env` is merged
// key by key across the three, so a deployment adds to the pool's
// environment rather than replacing it.
func JobVariables(template map[string]any, deployment, run map[string]any) map[string]any {
	out := map[string]any{}
	vars, _ := template["variables"].(map[string]any)
	props, _ := vars["properties"].(map[string]any)
	for name, p := range props {
		if schema, ok := p.(map[string]any); ok {
			if def, ok := schema["default"]; ok {
				out[name] = def
			}
		}
	}
	env := map[string]any{}
	for _, layer := range []map[string]any{out, deployment, run} {
		if e, ok := layer["env"].(map[string]any); ok {
			maps.Copy(env, e)
		}
	}
	for _, layer := range []map[string]any{deployment, run} {
		maps.Copy(out, layer)
	}
	out["env"] = env
	return out
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}`)

// JobConfiguration fills the template's job_configuration with the
// variables: a value that is exactly one placeholder takes the variable's
// value (of any type, nil when unset), placeholders within a longer string
// are replaced by the variable's text.
func JobConfiguration(template map[string]any, vars map[string]any) map[string]any {
	config, _ := template["job_configuration"].(map[string]any)
	out, _ := fill(config, vars).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func fill(v any, vars map[string]any) any {
	switch v := v.(type) {
	case string:
		if m := placeholder.FindStringSubmatch(v); m != nil && m[0] == strings.TrimSpace(v) {
			return vars[m[1]]
		}
		return placeholder.ReplaceAllStringFunc(v, func(s string) string {
			val := vars[placeholder.FindStringSubmatch(s)[1]]
			if val == nil {
				return ""
			}
			return fmt.Sprint(val)
		})
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = fill(x, vars)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = fill(x, vars)
		}
		return out
	default:
		return v
	}
}

// job is what the process worker takes from a job configuration.
type job struct {
	command      string
	env          map[string]*string // nil: unset the variable
	workingDir   string
	streamOutput bool
}

// defaultCommand starts the Prefect engine for the flow run named by
// PREFECT__FLOW_RUN_ID, as Prefect's process worker does.
const defaultCommand = "python -m prefect.engine"

func jobFrom(config map[string]any) job {
	j := job{command: defaultCommand, env: map[string]*string{}, streamOutput: true}
	if v, ok := config["stream_output"].(bool); ok {
		j.streamOutput = v
	}
	if c, ok := config["command"].(string); ok && strings.TrimSpace(c) != "" {
		j.command = c
	}
	if d, ok := config["working_dir"].(string); ok {
		j.workingDir = d
	}
	if env, ok := config["env"].(map[string]any); ok {
		for k, v := range env {
			if v == nil {
				j.env[k] = nil
				continue
			}
			s, ok := v.(string)
			if !ok {
				s = fmt.Sprint(v)
			}
			j.env[k] = &s
		}
	}
	return j
}
