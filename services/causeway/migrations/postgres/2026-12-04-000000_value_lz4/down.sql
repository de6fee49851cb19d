DO $$
BEGIN
    ALTER TABLE documents ALTER COLUMN value SET COMPRESSION default;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'documents.value keeps its compression: %', SQLERRM;
END
$$;
