CREATE TABLE owners (
    address TEXT PRIMARY KEY NOT NULL,
    delegate TEXT NOT NULL,
    contact TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE nonces (
    owner TEXT PRIMARY KEY NOT NULL REFERENCES owners (address),
    nonce TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE used_messages (
    owner TEXT NOT NULL REFERENCES owners (address),
    digest TEXT NOT NULL,
    PRIMARY KEY (owner, digest)
);

CREATE TABLE buckets (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    owner TEXT NOT NULL REFERENCES owners (address),
    free BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    bytes_total BIGINT NOT NULL,
    bytes_used BIGINT NOT NULL DEFAULT 0,
    transfer_total BIGINT NOT NULL,
    transfer_used BIGINT NOT NULL DEFAULT 0,
    price_sats BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX buckets_owner ON buckets (owner, expires_at);

CREATE TABLE documents (
    doc_key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES owners (address),
    bucket_id BIGINT NOT NULL REFERENCES buckets (id),
    size BIGINT NOT NULL,
    testnet BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX documents_owner ON documents (owner);
CREATE INDEX documents_bucket ON documents (bucket_id);

CREATE TABLE deposit_addresses (
    address TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL REFERENCES owners (address),
    created_at BIGINT NOT NULL
);
CREATE INDEX deposit_addresses_owner ON deposit_addresses (owner);
