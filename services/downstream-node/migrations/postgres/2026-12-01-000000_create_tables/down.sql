DROP TABLE contracts;
DROP TABLE tokens;
DROP TABLE addresses;
