CREATE TABLE addresses (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    address TEXT NOT NULL UNIQUE,
    crowdsale_balance BIGINT NOT NULL DEFAULT 0,
    allocated_bytes BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    farmer_id TEXT NOT NULL UNIQUE,
    address_id BIGINT NOT NULL REFERENCES addresses (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    location TEXT,
    message TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    hbcount BIGINT NOT NULL DEFAULT 0,
    online_contracts BIGINT NOT NULL DEFAULT 0,
    online_size BIGINT NOT NULL DEFAULT 0,
    online BOOLEAN NOT NULL DEFAULT 0,
    uptime DOUBLE NOT NULL DEFAULT 0,
    first_start BIGINT,
    upsum_closed BIGINT NOT NULL DEFAULT 0,
    seg_start BIGINT,
    seg_end BIGINT,
    last_due BIGINT
);
CREATE INDEX tokens_ip_address ON tokens (ip_address);
CREATE INDEX tokens_address_id ON tokens (address_id);
CREATE INDEX tokens_by_address ON tokens (address, farmer_id);
CREATE INDEX tokens_by_uptime ON tokens (uptime, farmer_id);
CREATE INDEX tokens_by_heartbeats ON tokens (hbcount, farmer_id);
CREATE INDEX tokens_by_contracts ON tokens (online_contracts, farmer_id);
CREATE INDEX tokens_by_size ON tokens (online_size, farmer_id);
CREATE INDEX tokens_by_online ON tokens (online, farmer_id);

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_id BIGINT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    seed TEXT NOT NULL,
    size BIGINT NOT NULL,
    chunksz BIGINT NOT NULL,
    challenges INTEGER NOT NULL,
    issued INTEGER NOT NULL,
    chain_seed BLOB NOT NULL,
    root BLOB NOT NULL,
    tree_order INTEGER NOT NULL,
    interval_secs BIGINT NOT NULL,
    start_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    expiration BIGINT NOT NULL,
    answered BOOLEAN NOT NULL,
    counted_online BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX contracts_seed ON contracts (seed);
CREATE INDEX contracts_token_due ON contracts (token_id, due_at);
CREATE INDEX contracts_online_expiration ON contracts (counted_online, expiration);
CREATE INDEX contracts_expiration ON contracts (expiration);
