package notify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The block types Sender delivers through: Prefect's slugs, and
// Praetor's own SMTP email block (Prefect's core has none).
const (
	SlugSlack         = "slack-webhook"
	SlugTeams         = "ms-teams-webhook"
	SlugCustomWebhook = "custom-webhook"
	SlugWebhook       = "webhook" // for CallWebhook, not Notify
	SlugSMTP          = "smtp-email"
)

// SchemaVersion is the version of the schemas BlockTypes gives.
const SchemaVersion = "praetor-1"

// BlockDefinition is a block type with the schema of its fields.
type BlockDefinition struct {
	Type         model.BlockType
	Fields       json.RawMessage
	Capabilities []string
}

// obj, prop and friends spell the JSON schemas below briefly.
type obj = map[string]any

func prop(typ, title, description string, position int, extra ...any) obj {
	p := obj{"title": title, "description": description, "position": position}
	if typ != "" {
		p["type"] = typ
	}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

// secretString is a field Prefect types SecretStr: the UI hides it and the
// store seals and obfuscates it (its name goes in secret_fields).
func secretString(title, description string, position int) obj {
	return prop("string", title, description, position, "format", "password", "writeOnly", true)
}

var notifyTypeProp = prop("string", "Notify Type", "The kind of notification, which sets its colour and icon.", 0,
	"enum", []any{"info", "success", "warning", "failure"}, "default", "info")

func allowPrivateProp(position int) obj {
	return prop("boolean", "Allow Private Urls", "Whether the URL may point at a private, loopback or link-local address.", position, "default", true)
}

var methodProp = prop("string", "Method", "The HTTP method of the request.", 0,
	"enum", []any{"GET", "POST", "PUT", "PATCH", "DELETE"}, "default", "POST")

var stringMapOrNull = []any{obj{"type": "object", "additionalProperties": obj{"type": "string"}}, obj{"type": "null"}}

func schema(slug, title, description string, properties obj, required, secret []string) json.RawMessage {
	fields := obj{
		"title": title, "description": description, "type": "object", "block_type_slug": slug,
		"properties": properties, "required": required, "secret_fields": secret, "block_schema_references": obj{},
	}
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err) // the schemas are literals
	}
	return b
}

func ptr(s string) *string { return &s }

const docsURL = "https://docs.prefect.io/latest/automate/events/automations-triggers#sending-notifications-with-automations"

// BlockTypes are the block types and schemas of the blocks Sender
// delivers through, with Prefect's field names where Prefect has the
// block.
func BlockTypes() []BlockDefinition {
	return []BlockDefinition{
		{
			Type: model.BlockType{Name: "Slack Webhook", Slug: SlugSlack, DocumentationURL: ptr(docsURL),
				Description: ptr("Sends notifications to a Slack incoming webhook.")},
			Fields: schema(SlugSlack, "SlackWebhook", "Sends notifications to a Slack incoming webhook.", obj{
				"notify_type":        notifyTypeProp,
				"url":                secretString("Webhook URL", "The Slack incoming webhook URL.", 1),
				"allow_private_urls": allowPrivateProp(2),
			}, []string{"url"}, []string{"url"}),
			Capabilities: []string{"notify"},
		},
		{
			Type: model.BlockType{Name: "Microsoft Teams Webhook", Slug: SlugTeams, DocumentationURL: ptr(docsURL),
				Description: ptr("Sends notifications to Microsoft Teams through a Power Automate (Workflows) webhook.")},
			Fields: schema(SlugTeams, "MicrosoftTeamsWebhook", "Sends notifications to Microsoft Teams through a Power Automate (Workflows) webhook.", obj{
				"notify_type":        notifyTypeProp,
				"url":                secretString("Webhook URL", "The Workflows webhook URL of the Teams channel.", 1),
				"allow_private_urls": allowPrivateProp(2),
				"include_image":      prop("boolean", "Include Image", "Whether the card shows the notification type's icon.", 3, "default", true),
				"wrap":               prop("boolean", "Wrap", "Whether the card wraps the text.", 4, "default", true),
			}, []string{"url"}, []string{"url"}),
			Capabilities: []string{"notify"},
		},
		{
			Type: model.BlockType{Name: "Custom Webhook", Slug: SlugCustomWebhook, DocumentationURL: ptr(docsURL),
				Description: ptr("Sends notifications to any webhook; {{subject}}, {{body}}, {{name}} and the secrets' keys are substituted in its fields.")},
			Fields: schema(SlugCustomWebhook, "CustomWebhookNotificationBlock", "Sends notifications to any webhook; {{subject}}, {{body}}, {{name}} and the secrets' keys are substituted in its fields.", obj{
				"name":               prop("string", "Name", "The webhook's name, substituted for {{name}}.", 0),
				"url":                prop("string", "Webhook URL", "The URL to call.", 1),
				"method":             withPosition(methodProp, 2),
				"params":             prop("", "Query Params", "Query parameters added to the URL.", 3, "anyOf", stringMapOrNull, "default", nil),
				"json_data":          prop("", "JSON Data", "A JSON body; not with form data.", 4, "anyOf", []any{obj{"type": "object", "additionalProperties": true}, obj{"type": "null"}}, "default", nil),
				"form_data":          prop("", "Form Data", "A form-encoded body (an object) or a raw body (a string); not with JSON data.", 5, "anyOf", []any{obj{"type": "object", "additionalProperties": obj{"type": "string"}}, obj{"type": "string"}, obj{"type": "null"}}, "default", nil),
				"headers":            prop("", "Headers", "Headers of the request.", 6, "anyOf", stringMapOrNull, "default", nil),
				"cookies":            prop("", "Cookies", "Cookies of the request.", 7, "anyOf", stringMapOrNull, "default", nil),
				"timeout":            prop("number", "Timeout", "Seconds the request may take.", 8, "default", 10),
				"allow_private_urls": allowPrivateProp(9),
				"secrets":            prop("object", "Custom Secret Values", "Secret values, substituted for {{key}} in the other fields.", 10),
			}, []string{"name", "url"}, []string{"secrets.*"}),
			Capabilities: []string{"notify"},
		},
		{
			Type: model.BlockType{Name: "Webhook", Slug: SlugWebhook,
				Description: ptr("A webhook that automations call with a templated payload.")},
			Fields: schema(SlugWebhook, "Webhook", "A webhook that automations call with a templated payload.", obj{
				"method":             withPosition(methodProp, 0),
				"url":                secretString("Webhook URL", "The URL to call.", 1),
				"headers":            prop("object", "Webhook Headers", "Headers of the request, kept secret.", 2),
				"allow_private_urls": allowPrivateProp(3),
				"verify":             prop("boolean", "Verify", "Whether to verify the server's TLS certificate.", 4, "default", true),
			}, []string{"url"}, []string{"url", "headers.*"}),
			Capabilities: []string{},
		},
		{
			Type: model.BlockType{Name: "SMTP Email", Slug: SlugSMTP,
				Description: ptr("Sends notifications as email through an SMTP server (Praetor's own block).")},
			Fields: schema(SlugSMTP, "SMTPEmail", "Sends notifications as email through an SMTP server (Praetor's own block).", obj{
				"smtp_server": prop("string", "SMTP Server", "Host name of the SMTP server.", 0),
				"smtp_type": prop("string", "SMTP Type", "SSL: TLS from the start (port 465); STARTTLS: upgraded to TLS (port 587); INSECURE: no TLS (port 25).", 1,
					"enum", []any{SMTPSSL, SMTPStartTLS, SMTPInsecure}, "default", SMTPSSL),
				"smtp_port":  prop("", "SMTP Port", "Port of the SMTP server; by default that of the SMTP type.", 2, "anyOf", []any{obj{"type": "integer"}, obj{"type": "null"}}, "default", nil),
				"username":   prop("", "Username", "User name to log in with, if the server needs one.", 3, "anyOf", []any{obj{"type": "string"}, obj{"type": "null"}}, "default", nil),
				"password":   prop("", "Password", "Password to log in with.", 4, "anyOf", []any{obj{"type": "string", "format": "password", "writeOnly": true}, obj{"type": "null"}}, "default", nil),
				"verify":     prop("boolean", "Verify", "Whether to verify the server's TLS certificate.", 5, "default", true),
				"from_email": prop("", "From", "The sender's address; by default the user name.", 6, "anyOf", []any{obj{"type": "string"}, obj{"type": "null"}}, "default", nil),
				"email_to":   prop("array", "To", "The recipients' addresses.", 7, "items", obj{"type": "string"}),
			}, []string{"smtp_server", "email_to"}, []string{"password"}),
			Capabilities: []string{"notify"},
		},
	}
}

func withPosition(p obj, position int) obj {
	out := make(obj, len(p))
	for k, v := range p {
		out[k] = v
	}
	out["position"] = position
	return out
}

// Ensure registers in workspace ws the block types of BlockTypes, and
// their schemas, that it lacks, so that users can create such blocks. It
// is idempotent and safe under concurrent calls: what another call
// created meanwhile counts as there. The types are protected, as
// Prefect's server protects the block types it registers.
func Ensure(ctx context.Context, blocks store.Blocks, ws uuid.UUID) error {
	for _, def := range BlockTypes() {
		t, err := blocks.GetBlockTypeBySlug(ctx, ws, def.Type.Slug)
		if apperr.IsNotFound(err) {
			t = &model.BlockType{}
			*t = def.Type
			t.IsProtected = true
			err = blocks.CreateBlockType(ctx, ws, t)
			if apperr.ErrorCode(err) == apperr.EConflict {
				t, err = blocks.GetBlockTypeBySlug(ctx, ws, def.Type.Slug)
			}
		}
		if err != nil {
			return fmt.Errorf("ensure block type %s: %w", def.Type.Slug, err)
		}
		checksum, err := model.BlockSchemaChecksum(def.Fields)
		if err != nil {
			return fmt.Errorf("ensure block schema of %s: %w", def.Type.Slug, err)
		}
		version := SchemaVersion
		if _, err := blocks.GetBlockSchemaByChecksum(ctx, ws, checksum, &version); err == nil {
			continue
		} else if !apperr.IsNotFound(err) {
			return fmt.Errorf("ensure block schema of %s: %w", def.Type.Slug, err)
		}
		s := &model.BlockSchema{Fields: def.Fields, BlockTypeID: t.ID, Capabilities: def.Capabilities, Checksum: checksum, Version: version}
		if _, err := blocks.CreateBlockSchema(ctx, ws, s); err != nil {
			// A concurrent Ensure may have inserted the same schema
			// first (PostgreSQL answers a unique violation then).
			if _, again := blocks.GetBlockSchemaByChecksum(ctx, ws, checksum, &version); again == nil {
				continue
			}
			return fmt.Errorf("ensure block schema of %s: %w", def.Type.Slug, err)
		}
	}
	return nil
}
