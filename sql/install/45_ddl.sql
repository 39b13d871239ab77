-- vstream_fdw install script, part 45: the DDL parser's debugging function.
-- It is also the 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/ links to it).
-- The parts in sql/install/ are concatenated in name order by the Makefile.

CREATE FUNCTION vstream_fdw.parse_ddl(statement text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'vstream_parse_ddl'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vstream_fdw.parse_ddl(text) IS
'what vstream_fdw concludes from the statement of a VStream DDL event (a MySQL DDL statement): kind (create_table, drop_table, truncate_table, rename_table, alter_table, no_data_effect, or unknown with a reason), the tables, and for ALTER TABLE each clause''s action and column definition';
