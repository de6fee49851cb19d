-- Vouchers and tokens are case-sensitive base64: ascii_bin, not the default case-insensitive collation.
CREATE TABLE vouchers (
    number VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY NOT NULL,
    expected_tokens BIGINT NOT NULL,
    created BIGINT NOT NULL,
    state VARCHAR(16) NOT NULL,
    counter INTEGER NOT NULL DEFAULT 0,
    started BIGINT,
    finished BIGINT,
    token_count BIGINT NOT NULL DEFAULT 0,
    sequestered_count BIGINT NOT NULL DEFAULT 0,
    details TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_retry BIGINT
);
CREATE INDEX vouchers_state ON vouchers (state);

CREATE TABLE random_token_groups (
    voucher VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    counter INTEGER NOT NULL,
    tokens LONGTEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (voucher, counter),
    FOREIGN KEY (voucher) REFERENCES vouchers (number)
);

CREATE TABLE redemption_groups (
    voucher VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    counter INTEGER NOT NULL,
    public_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    spendable BOOLEAN NOT NULL,
    token_count BIGINT NOT NULL,
    finished BIGINT NOT NULL,
    PRIMARY KEY (voucher, counter),
    FOREIGN KEY (voucher) REFERENCES vouchers (number)
);

CREATE TABLE unblinded_tokens (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    voucher VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    counter INTEGER NOT NULL,
    token VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    spendable BOOLEAN NOT NULL
);
CREATE INDEX unblinded_tokens_spendable ON unblinded_tokens (spendable, id);

CREATE TABLE lease_maintenance_runs (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    finished BIGINT NOT NULL,
    pass_count BIGINT NOT NULL
);
