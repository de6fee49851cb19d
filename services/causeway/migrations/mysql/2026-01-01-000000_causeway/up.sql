CREATE TABLE owners (
    address VARCHAR(35) NOT NULL PRIMARY KEY,
    delegate VARCHAR(35) NOT NULL,
    contact TEXT NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE nonces (
    owner VARCHAR(35) NOT NULL PRIMARY KEY,
    nonce VARCHAR(32) NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (owner) REFERENCES owners (address)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE used_messages (
    owner VARCHAR(35) NOT NULL,
    digest CHAR(64) NOT NULL,
    PRIMARY KEY (owner, digest),
    FOREIGN KEY (owner) REFERENCES owners (address)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE buckets (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner VARCHAR(35) NOT NULL,
    free BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    bytes_total BIGINT NOT NULL,
    bytes_used BIGINT NOT NULL DEFAULT 0,
    transfer_total BIGINT NOT NULL,
    transfer_used BIGINT NOT NULL DEFAULT 0,
    price_sats BIGINT NOT NULL DEFAULT 0,
    INDEX buckets_owner (owner, expires_at),
    FOREIGN KEY (owner) REFERENCES owners (address)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE documents (
    doc_key VARCHAR(64) NOT NULL PRIMARY KEY,
    value MEDIUMTEXT NOT NULL,
    owner VARCHAR(35) NOT NULL,
    bucket_id BIGINT NOT NULL,
    size BIGINT NOT NULL,
    testnet BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    INDEX documents_owner (owner),
    INDEX documents_bucket (bucket_id),
    FOREIGN KEY (owner) REFERENCES owners (address),
    FOREIGN KEY (bucket_id) REFERENCES buckets (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE deposit_addresses (
    address VARCHAR(64) NOT NULL PRIMARY KEY,
    owner VARCHAR(35) NOT NULL,
    created_at BIGINT NOT NULL,
    INDEX deposit_addresses_owner (owner),
    FOREIGN KEY (owner) REFERENCES owners (address)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
