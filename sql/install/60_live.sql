-- vstream_fdw install script, part 60: verify() (mirror against source).
-- It is also the 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/ links to it).
-- The parts in sql/install/ are concatenated in name order by the Makefile.

CREATE FUNCTION vstream_fdw.verify(
    server name,
    tables text[] DEFAULT NULL,
    details boolean DEFAULT false,
    recheck_timeout interval DEFAULT '30 seconds',
    batch_size integer DEFAULT 10000,
    max_keys integer DEFAULT 10000,
    OUT table_name text,
    OUT kind text,
    OUT source_rows bigint,
    OUT mirror_rows bigint,
    OUT missing bigint,
    OUT extra bigint,
    OUT different bigint,
    OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_verify'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw.verify(name, text[], boolean, interval, integer, integer) IS
'compares the mirror tables of a server''s stream with the source tables read through VTGate''s MySQL port, converting source values as the apply does; returns a row per table (kind ''table''), with details => true a row per differing key (kind ''missing'', ''extra'' or ''different'', the key in detail), and a ''summary'' row; while the stream runs, differing keys are re-read until they agree or recheck_timeout passes';

REVOKE ALL ON FUNCTION vstream_fdw.verify(name, text[], boolean, interval, integer, integer) FROM PUBLIC;
