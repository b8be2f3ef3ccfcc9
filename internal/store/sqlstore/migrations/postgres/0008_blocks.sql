-- Blocks (issue #19): block types and their schemas, and block documents,
-- all per workspace as in Prefect Cloud. A document's data is sealed with
-- the server's secrets key (AES-GCM, bound to the row's id), never stored
-- in clear.
CREATE TABLE block_types (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    logo_url TEXT,
    documentation_url TEXT,
    description TEXT,
    code_example TEXT,
    is_protected BOOLEAN NOT NULL DEFAULT FALSE,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_id, slug)
);

CREATE TABLE block_schemas (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    block_type_id UUID NOT NULL REFERENCES block_types(id) ON DELETE CASCADE,
    checksum TEXT NOT NULL,
    fields JSONB NOT NULL DEFAULT '{}',
    capabilities JSONB NOT NULL DEFAULT '[]',
    version TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_id, checksum, version)
);
CREATE INDEX block_schemas_type ON block_schemas (block_type_id, created);

CREATE TABLE block_documents (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    block_type_id UUID NOT NULL REFERENCES block_types(id) ON DELETE CASCADE,
    block_type_name TEXT NOT NULL,
    block_schema_id UUID NOT NULL REFERENCES block_schemas(id) ON DELETE CASCADE,
    is_anonymous BOOLEAN NOT NULL DEFAULT FALSE,
    data BYTEA NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (block_type_id, name)
);
CREATE INDEX block_documents_ws_name ON block_documents (workspace_id, name);
CREATE INDEX block_documents_schema ON block_documents (block_schema_id);

-- A document refers to others under a key of its data.
CREATE TABLE block_document_references (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    parent_block_document_id UUID NOT NULL REFERENCES block_documents(id) ON DELETE CASCADE,
    reference_block_document_id UUID NOT NULL REFERENCES block_documents(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_block_document_id, name)
);
CREATE INDEX block_document_references_ref ON block_document_references (reference_block_document_id);
