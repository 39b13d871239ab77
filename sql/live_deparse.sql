--
-- Remote SQL of live foreign tables (EXPLAIN does not connect).
--
CREATE SERVER vt_live FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (host '127.0.0.1', mysql_port '1', keyspace 'ks', connect_timeout '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER vt_live OPTIONS (user 'u');
CREATE FOREIGN TABLE lt (id bigint, n integer, amount numeric(10,2), f real,
                         s text, d date, ts timestamp, tz timestamptz, b bytea)
  SERVER vt_live OPTIONS (table_name 'lt_src');
CREATE FOREIGN TABLE lt2 (id bigint, lt_id bigint) SERVER vt_live;

-- only the columns needed
EXPLAIN (VERBOSE, COSTS OFF) SELECT n FROM lt;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM lt;
-- comparisons, IN, BETWEEN, IS NULL, AND / OR / NOT on numbers and dates
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE id = 1;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE id IN (1, 2, 3) AND n BETWEEN 5 AND 10;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE n IS NULL OR NOT (amount > 1.5);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE d >= '2026-01-02' AND ts < '2026-01-02 03:04:05.5';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE n = 1.5;
-- not sent: floats, time zones, bytea, functions, infinite values
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE f = 1.5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE tz > '2026-01-01';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE b = '\x00';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE abs(n) = 1;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE d < 'infinity';
-- strings: = and LIKE sent and re-checked; <, <>, NOT never sent
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE s = 'it''s' AND s LIKE 'a\_%';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE s IN ('a', 'B');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE s < 'b' OR s <> 'c';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE NOT (s = 'a');
-- ORDER BY and LIMIT
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt ORDER BY id DESC LIMIT 5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt ORDER BY s LIMIT 5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt WHERE f > 0 LIMIT 5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt ORDER BY id FETCH FIRST 2 ROWS WITH TIES;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lt ORDER BY id LIMIT 2 OFFSET 3;
-- parameters
PREPARE p(bigint) AS SELECT n FROM lt WHERE id = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE p(7);
RESET plan_cache_mode;
-- joins: the inner side looks rows up by the join key
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT lt.n FROM lt2 JOIN lt ON lt.id = lt2.lt_id WHERE lt2.id = 1;
RESET enable_hashjoin;
RESET enable_mergejoin;

-- connection errors are clear (the errno at the end varies)
DO $$
BEGIN
  PERFORM * FROM lt;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE '% %', SQLSTATE, regexp_replace(SQLERRM, ' \(\d+\)$', '');
END $$;
-- IMPORT FOREIGN SCHEMA checks the keyspace before connecting
IMPORT FOREIGN SCHEMA other FROM SERVER vt_live INTO public;
-- verify() needs a stream
SELECT * FROM vstream_fdw.verify('vt_live');
SELECT * FROM vstream_fdw.verify('vt_live', batch_size => 0);

DROP FOREIGN TABLE lt, lt2;
DROP USER MAPPING FOR CURRENT_USER SERVER vt_live;
DROP SERVER vt_live;
