// Timestamps are microseconds since the Unix epoch (see `domain::time`).

diesel::table! {
    vouchers (number) {
        number -> Text,
        expected_tokens -> BigInt,
        created -> BigInt,
        state -> Text,
        counter -> Integer,
        started -> Nullable<BigInt>,
        finished -> Nullable<BigInt>,
        token_count -> BigInt,
        sequestered_count -> BigInt,
        details -> Nullable<Text>,
        attempts -> Integer,
        next_retry -> Nullable<BigInt>,
    }
}

diesel::table! {
    random_token_groups (voucher, counter) {
        voucher -> Text,
        counter -> Integer,
        tokens -> Text,
    }
}

diesel::table! {
    redemption_groups (voucher, counter) {
        voucher -> Text,
        counter -> Integer,
        public_key -> Text,
        spendable -> Bool,
        token_count -> BigInt,
        finished -> BigInt,
    }
}

diesel::table! {
    unblinded_tokens (id) {
        id -> BigInt,
        voucher -> Text,
        counter -> Integer,
        token -> Text,
        spendable -> Bool,
    }
}

diesel::table! {
    lease_maintenance_runs (id) {
        id -> BigInt,
        finished -> BigInt,
        pass_count -> BigInt,
    }
}

diesel::table! {
    pass_requests (idempotency_key) {
        idempotency_key -> Text,
        request_hash -> Text,
        passes -> Text,
        created -> BigInt,
    }
}
