-- An address's allocation now counts only its contracts still online: an expired contract
-- gives its bytes back when it expires, not when cleandb deletes it.
UPDATE addresses SET allocated_bytes = COALESCE((
    SELECT SUM(c.size) FROM contracts c JOIN tokens t ON t.id = c.token_id
    WHERE t.address_id = addresses.id AND c.counted_online
), 0);
