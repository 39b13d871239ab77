-- vstream_fdw upgrade 0.2.0 -> 0.3.0, part 80: comparison row filters.
-- The apply now re-checks a row filter on every row image, so comparisons
-- are accepted (rowfilter.c); only the comments of existing objects change
-- (the same text as sql/install/80_filters.sql).

COMMENT ON COLUMN vstream_fdw.table_filter.row_filter IS 'condition a source row must meet to be mirrored, or NULL: evaluated by Vitess, and re-checked by the apply on every row image (a row updated out of it is deleted, one updated into it inserted)';

COMMENT ON FUNCTION vstream_fdw.set_table_filter(name, text, text[], text[], text) IS
'sets (or, with every filter NULL, removes) the column and row filter of a source table of a stream: include_columns or exclude_columns (the primary key stays), row_filter (conditions joined by AND: an integer, DECIMAL or DOUBLE column compared with a number, a DATE or DATETIME column with a date, IN, [NOT] BETWEEN, IS [NOT] NULL, in_keyrange()); checked against the source; the table is copied again under the new filter while the others keep replicating; returns the VStream rule';
