-- vstream_fdw upgrade script 0.2.0 -> 0.3.0, part 00.
-- The parts in sql/upgrade/0.2.0--0.3.0/ are concatenated in name order by
-- the Makefile.  Every object a part adds or changes must also be in the
-- install script (sql/install/), so that an updated database and a fresh
-- install are the same (checked by test/t/050_upgrade.pl).  A part that
-- only adds objects is a link to its install part.  The scripts of released
-- versions (0.1.0, 0.2.0 and the upgrade 0.1.0 -> 0.2.0) are kept as they
-- shipped in sql/history/.

\echo Use "ALTER EXTENSION vstream_fdw UPDATE TO '0.3.0'" to load this file. \quit
