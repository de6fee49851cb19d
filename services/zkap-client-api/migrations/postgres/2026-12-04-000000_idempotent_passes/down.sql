DROP TABLE pass_requests;
