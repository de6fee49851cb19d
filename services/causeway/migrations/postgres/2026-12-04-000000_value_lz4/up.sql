-- Values compressed with lz4 where the server has it (PostgreSQL 14 or later built with lz4,
-- as Debian's packages and the official images are): pglz took a sixth of the server's CPU in
-- signed puts. A server without it keeps pglz. Values already stored keep their compression.
DO $$
BEGIN
    ALTER TABLE documents ALTER COLUMN value SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'documents.value keeps its compression: %', SQLERRM;
END
$$;
