DROP TABLE deposit_addresses;
DROP TABLE documents;
DROP TABLE buckets;
DROP TABLE used_messages;
DROP TABLE nonces;
DROP TABLE owners;
