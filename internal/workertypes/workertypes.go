// Package workertypes is Praetor's catalogue of worker types: for each, what
// the UI and `prefect work-pool create --type …` show and the default base
// job template a pool of that type starts with. The templates are written
// here from each worker's documented job variables; every type shares the
// variables all of Prefect's workers take (command, env, labels, name).
package workertypes

import "maps"

// Variable is one job variable of a worker type: its name and its JSON
// schema.
type Variable struct {
	Name   string
	Schema map[string]any
}

// Type is one worker type of the catalogue.
type Type struct {
	// Collection is the package the worker comes in ("prefect" for the
	// built-in process worker).
	Collection     string
	Slug           string // the key of the type within its collection
	Type           string // the pool type
	DisplayName    string
	Description    string
	Documentation  string
	InstallCommand string
	Beta           bool
	// Variables are the type's own job variables, after the common ones.
	Variables []Variable
	// Extra is job configuration that is not a variable (a manifest).
	Extra map[string]any
}

// optional is the schema of a variable that may be left unset.
func optional(title, description string, schema map[string]any) map[string]any {
	return map[string]any{"title": title, "description": description, "anyOf": []any{schema, map[string]any{"type": "null"}}}
}

func withDefault(schema map[string]any, v any) map[string]any {
	out := maps.Clone(schema)
	out["default"] = v
	return out
}

var stringMap = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}

// common are the job variables every worker takes.
var common = []Variable{
	{"command", optional("Command", "The command that starts the flow run; empty: the worker's default, which runs the flow run's engine.", map[string]any{"type": "string"})},
	{"env", withDefault(map[string]any{"title": "Environment Variables", "description": "Environment variables of the flow run's process.",
		"type": "object", "additionalProperties": map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}}}, map[string]any{})},
	{"labels", withDefault(map[string]any{"title": "Labels", "description": "Labels given to the infrastructure the worker creates.", "type": "object",
		"additionalProperties": map[string]any{"type": "string"}}, map[string]any{})},
	{"name", optional("Name", "A name for the infrastructure the worker creates.", map[string]any{"type": "string"})},
}

func str(title, description string) map[string]any {
	return optional(title, description, map[string]any{"type": "string"})
}

func integer(title, description string) map[string]any {
	return optional(title, description, map[string]any{"type": "integer"})
}

func boolean(title, description string, def bool) map[string]any {
	return map[string]any{"title": title, "description": description, "type": "boolean", "default": def}
}

// Catalogue lists the worker types Praetor knows, process first.
var Catalogue = []Type{
	{
		Collection: "prefect", Slug: "process", Type: "process", DisplayName: "Process",
		Description:    "Runs each flow run as a subprocess of the worker, on the worker's machine.",
		Documentation:  "https://docs.prefect.io/v3/deploy/infrastructure-concepts/workers",
		InstallCommand: "pip install prefect",
		Variables: []Variable{
			{"stream_output", boolean("Stream Output", "Whether the worker streams the flow run's output to its own.", true)},
			{"working_dir", optional("Working Directory", "The directory the flow run starts in; empty: a temporary directory.", map[string]any{"type": "string", "format": "path"})},
		},
	},
	{
		Collection: "prefect-docker", Slug: "docker", Type: "docker", DisplayName: "Docker",
		Description:    "Runs each flow run in a Docker container.",
		Documentation:  "https://docs.prefect.io/integrations/prefect-docker",
		InstallCommand: "pip install prefect-docker",
		Variables: []Variable{
			{"image", str("Image", "The image of the container; empty: Prefect's image of the worker's version.")},
			{"image_pull_policy", optional("Image Pull Policy", "When to pull the image.", map[string]any{"enum": []any{"IfNotPresent", "Always", "Never"}})},
			{"networks", withDefault(map[string]any{"title": "Networks", "description": "Docker networks the container joins.", "type": "array", "items": map[string]any{"type": "string"}}, []any{})},
			{"network_mode", str("Network Mode", "The container's network mode.")},
			{"auto_remove", boolean("Auto Remove", "Whether the container is removed when it exits.", false)},
			{"volumes", withDefault(map[string]any{"title": "Volumes", "description": "Volumes to mount, as host:container.", "type": "array", "items": map[string]any{"type": "string"}}, []any{})},
			{"stream_output", boolean("Stream Output", "Whether the worker streams the container's output.", true)},
			{"mem_limit", str("Memory Limit", "The container's memory limit (a number with a unit: 512m, 2g).")},
			{"privileged", boolean("Privileged", "Whether the container runs privileged.", false)},
		},
	},
	{
		Collection: "prefect-kubernetes", Slug: "kubernetes", Type: "kubernetes", DisplayName: "Kubernetes",
		Description:    "Runs each flow run as a Kubernetes job.",
		Documentation:  "https://docs.prefect.io/integrations/prefect-kubernetes",
		InstallCommand: "pip install prefect-kubernetes",
		Variables: []Variable{
			{"namespace", withDefault(map[string]any{"title": "Namespace", "description": "The namespace of the job.", "type": "string"}, "default")},
			{"image", str("Image", "The image of the job's container; empty: Prefect's image of the worker's version.")},
			{"service_account_name", str("Service Account Name", "The service account the job's pod runs as.")},
			{"image_pull_policy", optional("Image Pull Policy", "When to pull the image.", map[string]any{"enum": []any{"IfNotPresent", "Always", "Never"}})},
			{"finished_job_ttl", integer("Finished Job TTL", "Seconds after which a finished job is deleted; empty: never.")},
			{"backoff_limit", withDefault(map[string]any{"title": "Backoff Limit", "description": "How many times Kubernetes retries the job's pod.", "type": "integer", "minimum": 0}, 0)},
			{"stream_output", boolean("Stream Output", "Whether the worker streams the pod's output.", true)},
			{"job_watch_timeout_seconds", integer("Job Watch Timeout Seconds", "How long the worker watches the job; empty: until it ends.")},
			{"pod_watch_timeout_seconds", withDefault(map[string]any{"title": "Pod Watch Timeout Seconds", "description": "How long the worker waits for the pod to start.", "type": "integer"}, 60)},
		},
		Extra: map[string]any{"job_manifest": map[string]any{
			"apiVersion": "batch/v1", "kind": "Job",
			"metadata": map[string]any{"namespace": "{{ namespace }}", "labels": "{{ labels }}", "generateName": "{{ name }}-"},
			"spec": map[string]any{"backoffLimit": "{{ backoff_limit }}", "ttlSecondsAfterFinished": "{{ finished_job_ttl }}",
				"template": map[string]any{"spec": map[string]any{"restartPolicy": "Never", "serviceAccountName": "{{ service_account_name }}",
					"containers": []any{map[string]any{"name": "prefect-job", "image": "{{ image }}", "imagePullPolicy": "{{ image_pull_policy }}",
						"args": "{{ command }}", "env": "{{ env }}"}}}}},
		}},
	},
	{
		Collection: "prefect-aws", Slug: "ecs", Type: "ecs", DisplayName: "AWS Elastic Container Service",
		Description:    "Runs each flow run as an ECS task.",
		Documentation:  "https://docs.prefect.io/integrations/prefect-aws",
		InstallCommand: "pip install prefect-aws",
		Variables: []Variable{
			{"task_definition_arn", str("Task Definition ARN", "An existing task definition to run; empty: one is registered from the other variables.")},
			{"image", str("Image", "The image of the task's container.")},
			{"cluster", str("Cluster", "The ECS cluster; empty: the default cluster.")},
			{"launch_type", withDefault(map[string]any{"title": "Launch Type", "description": "How the task is launched.", "enum": []any{"FARGATE", "EC2", "EXTERNAL", "FARGATE_SPOT"}}, "FARGATE")},
			{"cpu", integer("CPU", "CPU units of the task.")},
			{"memory", integer("Memory", "Memory of the task, in MiB.")},
			{"vpc_id", str("VPC ID", "The VPC of the task's network; empty: the default VPC.")},
			{"execution_role_arn", str("Execution Role ARN", "The role ECS pulls the image and writes logs with.")},
			{"task_role_arn", str("Task Role ARN", "The role the task runs with.")},
			{"stream_output", boolean("Stream Output", "Whether the worker streams the task's logs.", false)},
		},
	},
	{
		Collection: "prefect-gcp", Slug: "cloud-run", Type: "cloud-run", DisplayName: "Google Cloud Run",
		Description:    "Runs each flow run as a Cloud Run job.",
		Documentation:  "https://docs.prefect.io/integrations/prefect-gcp",
		InstallCommand: "pip install prefect-gcp",
		Variables: []Variable{
			{"region", withDefault(map[string]any{"title": "Region", "description": "The region of the job.", "type": "string"}, "us-central1")},
			{"image", str("Image", "The image of the job's container.")},
			{"cpu", str("CPU", "CPU of the job (1000m, 2).")},
			{"memory", str("Memory", "Memory of the job (512Mi, 2Gi).")},
			{"vpc_connector_name", str("VPC Connector Name", "The VPC connector the job uses.")},
			{"timeout", withDefault(map[string]any{"title": "Job Timeout", "description": "Seconds the job may run.", "type": "integer", "minimum": 1}, 600)},
			{"service_account_name", str("Service Account Name", "The service account the job runs as.")},
		},
	},
	{
		Collection: "prefect-azure", Slug: "azure-container-instance", Type: "azure-container-instance", DisplayName: "Azure Container Instances",
		Description:    "Runs each flow run in an Azure container group.",
		Documentation:  "https://docs.prefect.io/integrations/prefect-azure",
		InstallCommand: "pip install prefect-azure",
		Variables: []Variable{
			{"resource_group_name", withDefault(map[string]any{"title": "Resource Group Name", "description": "The resource group of the container group.", "type": "string"}, "")},
			{"subscription_id", withDefault(map[string]any{"title": "Subscription ID", "description": "The Azure subscription.", "type": "string"}, "")},
			{"image", str("Image", "The image of the container.")},
			{"cpu", withDefault(map[string]any{"title": "CPU", "description": "CPU cores of the container.", "type": "number"}, 1.0)},
			{"memory", withDefault(map[string]any{"title": "Memory", "description": "Memory of the container, in GB.", "type": "number"}, 1.0)},
			{"gpu_count", integer("GPU Count", "GPUs of the container.")},
			{"identities", optional("Identities", "Managed identities the container group uses.", map[string]any{"type": "array", "items": map[string]any{"type": "string"}})},
			{"stream_output", boolean("Stream Output", "Whether the worker streams the container's output.", false)},
		},
	},
}

// BaseJobTemplate is the default base job template of a type: each
// variable's placeholder in job_configuration, and the variables' schema.
func (t Type) BaseJobTemplate() map[string]any {
	config := map[string]any{}
	props := map[string]any{}
	for _, v := range append(append([]Variable{}, common...), t.Variables...) {
		config[v.Name] = "{{ " + v.Name + " }}"
		props[v.Name] = maps.Clone(v.Schema)
	}
	maps.Copy(config, t.Extra)
	return map[string]any{
		"job_configuration": config,
		"variables":         map[string]any{"type": "object", "properties": props},
	}
}

// Lookup returns the type of a pool type, if the catalogue has it.
func Lookup(poolType string) (Type, bool) {
	for _, t := range Catalogue {
		if t.Type == poolType {
			return t, true
		}
	}
	return Type{}, false
}

// Metadata is the catalogue as Prefect's aggregate-worker-metadata view
// shapes it: collection → slug → the type's description and default
// template.
func Metadata() map[string]any {
	out := map[string]any{}
	for _, t := range Catalogue {
		c, _ := out[t.Collection].(map[string]any)
		if c == nil {
			c = map[string]any{}
			out[t.Collection] = c
		}
		c[t.Slug] = map[string]any{
			"type": t.Type, "display_name": t.DisplayName, "description": t.Description, "documentation_url": t.Documentation,
			"install_command": t.InstallCommand, "is_beta": t.Beta, "logo_url": "",
			"default_base_job_configuration": t.BaseJobTemplate(),
		}
	}
	return out
}
