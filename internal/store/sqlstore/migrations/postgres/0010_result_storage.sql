-- A workspace's default result storage (Prefect's server default result
-- storage): a block document, forgotten when the document is deleted.
CREATE TABLE result_storage (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    block_document_id UUID NOT NULL REFERENCES block_documents(id) ON DELETE CASCADE
);
CREATE INDEX result_storage_block ON result_storage (block_document_id);
