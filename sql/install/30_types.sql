-- vstream_fdw install script, part 30: type mapping debugging functions.
-- The parts in sql/install/ are concatenated in name order by the Makefile.

CREATE FUNCTION vstream_fdw.mysql_type_to_pg(
    column_type text,
    vitess_type text DEFAULT NULL,
    flags integer DEFAULT 0,
    charset integer DEFAULT 255)
RETURNS text
AS 'MODULE_PATHNAME', 'vstream_mysql_type_to_pg'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION vstream_fdw.mysql_type_to_pg(text, text, integer, integer) IS
'PostgreSQL type vstream_fdw chooses for a MySQL column type (e.g. ''bigint unsigned''); vitess_type is a query.Type name such as ''UINT64'', derived from column_type when NULL; charset is the MySQL collation id (63 = binary)';

CREATE FUNCTION vstream_fdw.convert_value(
    column_type text,
    value bytea,
    vitess_type text DEFAULT NULL,
    flags integer DEFAULT 0,
    charset integer DEFAULT 255,
    invalid_values text DEFAULT 'error')
RETURNS text
AS 'MODULE_PATHNAME', 'vstream_convert_value'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION vstream_fdw.convert_value(text, bytea, text, integer, integer, text) IS
'converts a VStream cell (raw bytes) of a MySQL column type as the mirror would, and returns the text output of the result; invalid_values is ''error'' or ''null'' like the server option';
