-- A delegate named by the owner's signed enrollment (bound) is no longer replaceable by
-- unsigned registrations; one only registered by /request or /buy is provisional.
ALTER TABLE owners ADD COLUMN delegate_bound BOOLEAN NOT NULL DEFAULT FALSE;
