DROP TABLE lease_maintenance_runs;
DROP TABLE unblinded_tokens;
DROP TABLE redemption_groups;
DROP TABLE random_token_groups;
DROP TABLE vouchers;
