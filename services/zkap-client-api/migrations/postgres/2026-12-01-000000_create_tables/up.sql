CREATE TABLE vouchers (
    number VARCHAR(64) PRIMARY KEY NOT NULL,
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
    voucher VARCHAR(64) NOT NULL REFERENCES vouchers (number),
    counter INTEGER NOT NULL,
    tokens TEXT NOT NULL,
    PRIMARY KEY (voucher, counter)
);

CREATE TABLE redemption_groups (
    voucher VARCHAR(64) NOT NULL REFERENCES vouchers (number),
    counter INTEGER NOT NULL,
    public_key VARCHAR(64) NOT NULL,
    spendable BOOLEAN NOT NULL,
    token_count BIGINT NOT NULL,
    finished BIGINT NOT NULL,
    PRIMARY KEY (voucher, counter)
);

CREATE TABLE unblinded_tokens (
    id BIGSERIAL PRIMARY KEY,
    voucher VARCHAR(64) NOT NULL,
    counter INTEGER NOT NULL,
    token VARCHAR(128) NOT NULL,
    spendable BOOLEAN NOT NULL
);
CREATE INDEX unblinded_tokens_spendable ON unblinded_tokens (spendable, id);

CREATE TABLE lease_maintenance_runs (
    id BIGSERIAL PRIMARY KEY,
    finished BIGINT NOT NULL,
    pass_count BIGINT NOT NULL
);
