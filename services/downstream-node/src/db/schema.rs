//! The tables, as the migrations in `migrations/<backend>/` create them. Times are
//! milliseconds since the Unix epoch.

diesel::table! {
    addresses (id) {
        id -> BigInt,
        address -> Text,
        crowdsale_balance -> BigInt,
        /// Bytes of the contracts still online of every token of the address: reserved by
        /// `/chunk`, given back when a contract expires (the sweep, or the address's next
        /// `/chunk`).
        allocated_bytes -> BigInt,
    }
}

diesel::table! {
    tokens (id) {
        id -> BigInt,
        token -> Text,
        farmer_id -> Text,
        address_id -> BigInt,
        address -> Text,
        ip_address -> Text,
        location -> Nullable<Text>,
        message -> Text,
        signature -> Text,
        created_at -> BigInt,
        hbcount -> BigInt,
        online_contracts -> BigInt,
        online_size -> BigInt,
        online -> Bool,
        uptime -> Double,
        first_start -> Nullable<BigInt>,
        upsum_closed -> BigInt,
        seg_start -> Nullable<BigInt>,
        seg_end -> Nullable<BigInt>,
        last_due -> Nullable<BigInt>,
    }
}

diesel::table! {
    contracts (id) {
        id -> BigInt,
        token_id -> BigInt,
        seed -> Text,
        size -> BigInt,
        chunksz -> BigInt,
        challenges -> Integer,
        issued -> Integer,
        chain_seed -> Binary,
        root -> Binary,
        tree_order -> Integer,
        interval_secs -> BigInt,
        start_at -> BigInt,
        due_at -> BigInt,
        expiration -> BigInt,
        answered -> Bool,
        counted_online -> Bool,
    }
}

diesel::joinable!(tokens -> addresses (address_id));
diesel::joinable!(contracts -> tokens (token_id));
diesel::allow_tables_to_appear_in_same_query!(addresses, tokens, contracts);
