-- POST passes with an Idempotency-Key: the passes handed out, so a retry gets the same ones.
CREATE TABLE pass_requests (
    idempotency_key VARCHAR(255) PRIMARY KEY NOT NULL,
    request_hash VARCHAR(64) NOT NULL,
    passes TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX pass_requests_created ON pass_requests (created);
