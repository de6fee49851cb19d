CREATE TABLE addresses (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    address VARCHAR(64) NOT NULL UNIQUE,
    crowdsale_balance BIGINT NOT NULL DEFAULT 0,
    allocated_bytes BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB;

CREATE TABLE tokens (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    token VARCHAR(32) NOT NULL UNIQUE,
    farmer_id VARCHAR(20) NOT NULL UNIQUE,
    address_id BIGINT NOT NULL,
    address VARCHAR(64) NOT NULL,
    ip_address VARCHAR(45) NOT NULL,
    location TEXT,
    message TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    hbcount BIGINT NOT NULL DEFAULT 0,
    online_contracts BIGINT NOT NULL DEFAULT 0,
    online_size BIGINT NOT NULL DEFAULT 0,
    online BOOLEAN NOT NULL DEFAULT FALSE,
    uptime DOUBLE NOT NULL DEFAULT 0,
    first_start BIGINT,
    upsum_closed BIGINT NOT NULL DEFAULT 0,
    seg_start BIGINT,
    seg_end BIGINT,
    last_due BIGINT,
    CONSTRAINT tokens_address_fk FOREIGN KEY (address_id) REFERENCES addresses (id) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE INDEX tokens_ip_address ON tokens (ip_address);
CREATE INDEX tokens_address_id ON tokens (address_id);
CREATE INDEX tokens_by_address ON tokens (address, farmer_id);
CREATE INDEX tokens_by_uptime ON tokens (uptime, farmer_id);
CREATE INDEX tokens_by_heartbeats ON tokens (hbcount, farmer_id);
CREATE INDEX tokens_by_contracts ON tokens (online_contracts, farmer_id);
CREATE INDEX tokens_by_size ON tokens (online_size, farmer_id);
CREATE INDEX tokens_by_online ON tokens (online, farmer_id);

CREATE TABLE contracts (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    token_id BIGINT NOT NULL,
    seed VARCHAR(64) NOT NULL,
    size BIGINT NOT NULL,
    chunksz BIGINT NOT NULL,
    challenges INTEGER NOT NULL,
    issued INTEGER NOT NULL,
    chain_seed VARBINARY(32) NOT NULL,
    root VARBINARY(32) NOT NULL,
    tree_order INTEGER NOT NULL,
    interval_secs BIGINT NOT NULL,
    start_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    expiration BIGINT NOT NULL,
    answered BOOLEAN NOT NULL,
    counted_online BOOLEAN NOT NULL,
    CONSTRAINT contracts_token_fk FOREIGN KEY (token_id) REFERENCES tokens (id) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE UNIQUE INDEX contracts_seed ON contracts (seed);
CREATE INDEX contracts_token_due ON contracts (token_id, due_at);
CREATE INDEX contracts_online_expiration ON contracts (counted_online, expiration);
CREATE INDEX contracts_expiration ON contracts (expiration);
