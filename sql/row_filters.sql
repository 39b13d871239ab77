-- Row filters: what set_table_filter() accepts and refuses before it asks
-- the source (vstream_fdw._filter_rule parses the condition first, then
-- looks the server up: "server ... does not exist" below means the syntax
-- was accepted).  Type checks need the source's columns and are in the TAP
-- tests (019_row_filters_sim.pl, 223_e2e_filters.pl).
\set VERBOSITY default
SET client_min_messages = warning;

-- accepted
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > 100');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount >= 5.25 AND `qty` <> 0 and b != 1 AND c <= 1e3');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'id IN (1, 2, 3) AND note IS NULL AND x IS NOT NULL');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount BETWEEN 10 AND 20 AND id NOT BETWEEN 1 AND 5');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'in_keyrange(''-80'') AND amount < .5');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'in_keyrange(id, ''hash'', ''-80'')');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'day >= ''2024-02-29'' AND at BETWEEN ''2024-01-01'' AND ''2024-12-31 23:59:59''');

-- refused: not in Vitess's filters
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > 100 OR id = 1');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > 100 || id = 1');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'NOT amount > 100');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'id NOT IN (1, 2)');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'name LIKE ''a%''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount <=> 1');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, '(amount > 100)');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'lower(name) = 1');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, '100 < amount');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > qty');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 't.amount > 1');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > -1');
-- refused: the apply could not re-check them exactly
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'name = ''bob''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'id IN (1, ''2'')');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount = NULL');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'day >= ''2023-02-29''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'at >= ''2024-01-01 24:00:00''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'at >= ''2024-01-01T10:00:00''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'at >= ''2024-01-01 10:00:00.5''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'day >= ''2024-1-1''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > 0x10');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > true');
-- malformed
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount >');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > 1 AND');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'name = ''open');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount BETWEEN 1 OR 2');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'id IN (1 2)');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'in_keyrange(''-80''');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, 'amount > 1; drop table t');
SELECT vstream_fdw._filter_rule('nosuch', 't', NULL, NULL, '');
