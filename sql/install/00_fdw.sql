-- vstream_fdw install script, part 00: the foreign-data wrapper and peek().
-- The parts in sql/install/ are concatenated in name order by the Makefile.

\echo Use "CREATE EXTENSION vstream_fdw" to load this file. \quit

CREATE FUNCTION vstream_fdw.vstream_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'vstream_fdw_handler'
LANGUAGE C STRICT;

COMMENT ON FUNCTION vstream_fdw.vstream_fdw_handler() IS
'foreign-data wrapper handler of vstream_fdw (live scans through VTGate''s MySQL protocol)';

CREATE FUNCTION vstream_fdw.vstream_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'vstream_fdw_validator'
LANGUAGE C STRICT;

COMMENT ON FUNCTION vstream_fdw.vstream_fdw_validator(text[], oid) IS
'validates the options of vstream_fdw servers, user mappings and foreign tables';

CREATE FOREIGN DATA WRAPPER vstream_fdw
  HANDLER vstream_fdw.vstream_fdw_handler
  VALIDATOR vstream_fdw.vstream_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER vstream_fdw IS
'Vitess keyspaces through VTGate: one foreign server per keyspace';

CREATE FUNCTION vstream_fdw.peek(
    server name,
    start text DEFAULT 'current',
    max_events integer DEFAULT 100,
    timeout interval DEFAULT '10 seconds',
    OUT seq bigint,
    OUT event_type text,
    OUT keyspace text,
    OUT shard text,
    OUT table_name text,
    OUT source_time timestamptz,
    OUT vgtid jsonb,
    OUT row_before jsonb,
    OUT row_after jsonb,
    OUT fields jsonb,
    OUT statement text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_peek'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw.peek(name, text, integer, interval) IS
'opens a VStream for a foreign server and returns its events as rows: start is ''current'', ''copy'' or a VGTID in JSON; stops after max_events events, after timeout, or when the server ends the stream';

REVOKE ALL ON FUNCTION vstream_fdw.peek(name, text, integer, interval) FROM PUBLIC;
