-- PostgreSQL only (its documents.value compression); kept so every backend has the same versions.
SELECT 1;
