ALTER TABLE owners DROP COLUMN delegate_bound;
