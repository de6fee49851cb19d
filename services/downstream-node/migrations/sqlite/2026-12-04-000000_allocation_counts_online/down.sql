-- Back to counting every contract not yet deleted.
UPDATE addresses SET allocated_bytes = COALESCE((
    SELECT SUM(c.size) FROM contracts c JOIN tokens t ON t.id = c.token_id
    WHERE t.address_id = addresses.id
), 0);
