diesel::table! {
    owners (address) {
        address -> Text,
        delegate -> Text,
        contact -> Text,
        created_at -> BigInt,
        delegate_bound -> Bool,
    }
}

diesel::table! {
    nonces (owner) {
        owner -> Text,
        nonce -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    used_messages (owner, digest) {
        owner -> Text,
        digest -> Text,
    }
}

diesel::table! {
    buckets (id) {
        id -> BigInt,
        owner -> Text,
        free -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
        bytes_total -> BigInt,
        bytes_used -> BigInt,
        transfer_total -> BigInt,
        transfer_used -> BigInt,
        price_sats -> BigInt,
    }
}

diesel::table! {
    documents (doc_key) {
        doc_key -> Text,
        value -> Text,
        owner -> Text,
        bucket_id -> BigInt,
        size -> BigInt,
        testnet -> Bool,
        updated_at -> BigInt,
    }
}

diesel::table! {
    deposit_addresses (address) {
        address -> Text,
        owner -> Text,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    owners,
    nonces,
    used_messages,
    buckets,
    documents,
    deposit_addresses,
);
