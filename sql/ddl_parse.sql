--
-- ddl_parse: the parser for the MySQL DDL statements of VStream DDL events
--
-- vstream_fdw.parse_ddl() renders ddl_parse()'s DdlStatement as jsonb.  Most
-- cases below show it compacted by pg_temp.ddl(): JSON nulls, false
-- booleans and "default_kind": "none" are left out, so only what the
-- parser found is shown.  A few cases show every field.
--
\pset format unaligned
\pset tuples_only on
CREATE FUNCTION pg_temp.ddl(statement text) RETURNS text LANGUAGE sql AS $f$
  SELECT statement || E'\n  => ' ||
    regexp_replace(
      regexp_replace(jsonb_strip_nulls(vstream_fdw.parse_ddl(statement))::text,
                     '"[a-z_]+": false(, )?|"default_kind": "none"(, )?', '', 'g'),
      ', }', '}', 'g')
$f$;

-- every field, for three statements
SELECT jsonb_pretty(vstream_fdw.parse_ddl(
  $$alter table corder add column note varchar(32) not null default 'n/a' after id, drop column qty$$));
SELECT jsonb_pretty(vstream_fdw.parse_ddl($$RENAME TABLE a TO b$$));
SELECT jsonb_pretty(vstream_fdw.parse_ddl($$drop procedure p$$));

-- ALTER TABLE: columns
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$alter table corder add column note varchar(32), add column qty int$$),
  ($$ALTER TABLE `t1` RENAME COLUMN `v` TO `w`$$),
  ($$alter table t modify w bigint$$),
  ($$alter table t modify column w int first$$),
  ($$alter table t change w w2 bigint unsigned not null default 0 after id$$),
  ($$alter table t change column `a` `a` varchar(10) character set latin1 collate latin1_bin null$$),
  ($$alter table t drop w, drop column x$$),
  ($$alter table t alter column x set default 5, alter y drop default, alter column z set invisible$$),
  ($$alter table t add column c datetime default current_timestamp$$),
  ($$alter table t add column d int as (a + 1) stored$$),
  ($$alter table t add e int generated always as ((a * 2) + (b)) virtual not null$$),
  ($$ALTER TABLE t ADD COLUMN x INT, ALGORITHM=INPLACE, LOCK=NONE$$),
  ($$ALTER TABLE t ADD COLUMN (a int, b int not null)$$),
  ($$ALTER TABLE t ADD (a int, index (a), primary key (a))$$),
  ($$ALTER TABLE t ADD COLUMN IF NOT EXISTS a int$$),
  ($$ALTER TABLE t DROP COLUMN IF EXISTS a$$),
  ($$alter table t change column if exists a b int, modify column if exists c int, rename column if exists d to e$$),
  ($$alter table t add column x int primary key auto_increment$$),
  ($$alter table t add x int unique key comment 'c' column_format fixed storage disk invisible$$),
  ($$alter table t add x int references p (id) match full on delete set null on update no action$$),
  ($$alter table t add x int constraint ck check (x > 0) not enforced$$),
  ($$alter table t add x int check (x > 0) enforced$$),
  ($$alter table t add x text, add y int default 1 after x, add z int first$$),
  ($$alter table t add id2 bigint not null auto_increment primary key first, drop primary key$$),
  ($$alter table t drop primary key, change a b int primary key$$),
  ($$alter table t modify id int key$$)
) v(s);

-- ALTER TABLE: the table, keys, options
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$alter table t rename to u$$),
  ($$alter table t rename as db.u$$),
  ($$alter table t rename u$$),
  ($$alter table t rename to `vt_customer`.`u`$$),
  ($$ALTER TABLE t RENAME INDEX a TO b, RENAME KEY c TO d$$),
  ($$alter table t drop primary key, add primary key (a, b)$$),
  ($$alter table t add constraint pk primary key using btree (a(10) desc, `b c`) comment 'x'$$),
  ($$alter table t add constraint primary key (a)$$),
  ($$alter table t drop index `PRIMARY`$$),
  ($$alter table t drop constraint `primary`$$),
  ($$alter table t add index (x), add key k (x, y) using hash, add unique u (x), add unique key (y), add fulltext (z), add spatial index s (g)$$),
  ($$alter table t add constraint fk foreign key (a) references p (id) on delete cascade, add foreign key (b) references q (id)$$),
  ($$alter table t add constraint ck check (a > 0), add check (b < 0) not enforced$$),
  ($$alter table t drop index i, drop key k, drop foreign key fk, drop check ck, drop constraint c, drop index if exists j$$),
  ($$alter table t alter index i invisible, alter index j visible, alter check ck not enforced, alter constraint c enforced$$),
  ($$alter table t convert to character set utf8mb4 collate utf8mb4_unicode_ci$$),
  ($$alter table t convert to charset latin1$$),
  ($$alter table t character set = utf8mb4, default collate utf8mb4_bin$$),
  ($$alter table t engine=innodb$$),
  ($$alter table t ENGINE = InnoDB ROW_FORMAT=DYNAMIC auto_increment 5 comment = 'x', stats_persistent=0$$),
  ($$alter table t default charset=utf8mb4 key_block_size=8 tablespace ts storage disk data directory '/x'$$),
  ($$alter table t algorithm=instant, lock=default, force, with validation, disable keys, enable keys$$),
  ($$alter table t order by a, b desc, add column z int$$),
  ($$alter table t force$$),
  ($$alter table t$$),
  ($$ALTER ONLINE IGNORE TABLE IF EXISTS t NOWAIT ADD x int$$),
  ($$alter table t wait 5 drop x$$)
) v(s);

-- ALTER TABLE: partitions, tablespaces
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$alter table t partition by hash(id) partitions 4$$),
  ($$alter table t add x int, engine=innodb partition by range (a) (partition p0 values less than (10), partition p1 values less than maxvalue)$$),
  ($$alter table t add column x int partition by key (x) partitions 2$$),
  ($$alter table t remove partitioning$$),
  ($$alter table t add partition (partition p3 values less than (30))$$),
  ($$alter table t reorganize partition p0, p1 into (partition p01 values less than (20))$$),
  ($$alter table t coalesce partition 2$$),
  ($$alter table t analyze partition p0, p1$$),
  ($$alter table t rebuild partition all$$),
  ($$alter table t drop partition p0, p1$$),
  ($$alter table t truncate partition all$$),
  ($$alter table t exchange partition p0 with table db.t2 without validation$$),
  ($$alter table t convert table t2 to partition p3 values less than (5)$$),
  ($$alter table t convert partition p0 to table t3$$),
  ($$alter table t discard tablespace$$),
  ($$alter table t import tablespace$$),
  ($$alter table t algorithm=inplace, drop partition p0$$)
) v(s);

-- column types and attributes
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$alter table t add a DECIMAL(10, 2) UNSIGNED, add b DOUBLE PRECISION, add c NATIONAL VARCHAR(10), add d varchar(10) BINARY$$),
  ($$alter table t add e CHAR(10) CHARACTER SET latin1, add f INT(11) UNSIGNED ZEROFILL, add g SET('a','B'), add h json not null$$),
  ($$alter table t add i ENUM('Yes','no','It''s','a\'b','c\\d',"dq") default 'Yes'$$),
  ($$alter table t add j serial, add k int serial default value, add l bigint(20) signed key$$),
  ($$alter table t add m char character set utf8mb4, add n character varying(5) charset 'utf8mb4' collate 'utf8mb4_bin', add o long varchar$$),
  ($$alter table t add p char(4) ascii, add q varchar(3) unicode, add r year, add s bit, add u vector(3), add v point srid 4326$$),
  ($$alter table t add w timestamp(6) null default null on update current_timestamp(6)$$),
  ($$alter table t add x Int Not Null Default '7' Comment 'seven' Collate utf8mb4_bin$$)
) v(s);

-- DEFAULT values: constants are unquoted and unescaped, expressions as written
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$alter table t add a varchar(10) default 'x', add b varchar(10) default '', add c int default null$$),
  (E'alter table t add s varchar(20) default ''a\\nb\\\\c\\td\\''e''''f\\"g\\%h\\_i\\zj'''),
  ($$alter table t add a int default -1, add b int default +7, add c decimal(5,2) default 0.50, add d double default -1.5e3, add e float default .5, add f float default - .5$$),
  ($$alter table t add a bit(3) default b'101', add b varbinary(4) default X'1F', add c int default 0x1F, add d bit(2) default 0b10, add e varbinary(2) default x'', add f int default 0x1f + 1$$),
  ($$alter table t add a tinyint(1) default TRUE, add b bool default false$$),
  ($$alter table t add a date default DATE '2020-01-01', add b datetime default timestamp '2020-01-01 00:00:00', add c time default time '10:00'$$),
  ($$alter table t add a varchar(3) default _utf8mb4'x', add b varchar(3) default _latin1 'y', add c varchar(3) default N'z', add d varchar(9) default 'a' 'b' "c"$$),
  ($$alter table t add a varchar(3) default "dq", add b varchar(3) default 'it''s'$$),
  ($$alter table t add a datetime default now(), add b timestamp(3) default current_timestamp(3), add c datetime default localtimestamp$$),
  ($$alter table t add a double default (rand() * 10), add b json default (json_array()), add c binary(16) default (uuid_to_bin(uuid())), add d text default ('')$$),
  ($$alter table t add a int default 1 + 1, add b datetime default current_timestamp + interval 1 day, add c int default nextval(s)$$)
) v(s);

-- CREATE TABLE
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$create table t (id bigint not null auto_increment, name varchar(64) character set utf8mb4 collate utf8mb4_bin default 'x', primary key (id), key idx (name)) engine=InnoDB$$),
  ($$CREATE TABLE IF NOT EXISTS `vt_customer`.`t` (`id` int NOT NULL, `b` int, PRIMARY KEY (`id`,`b`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci$$),
  ($$create table t (a int primary key, b int, unique key u (b), constraint fk foreign key (b) references p(id) on delete cascade, check (a > 0), constraint c2 check (b > 0), fulltext key ft (b), index (a, b), spatial key (b), key k ((a + b)))$$),
  ($$create table t (a int key, `select` int, `we``ird` int, ```` int)$$),
  ($$create table t (a int) partition by range (a) (partition p0 values less than (10), partition p1 values less than maxvalue)$$),
  ($$create temporary table t (a int)$$),
  ($$create or replace table t (a int)$$),
  ($$CREATE TABLE t2 LIKE t1$$),
  ($$create table if not exists t2 (like db.t1)$$),
  ($$CREATE TABLE t2 SELECT * FROM t1$$),
  ($$CREATE TABLE t2 AS SELECT a, b FROM t1$$),
  ($$CREATE TABLE t2 (c int) ENGINE=InnoDB IGNORE SELECT a, b FROM t1$$),
  ($$create table t2 (select 1 as a)$$),
  ($$create table t2 engine=innodb as table t1$$),
  ($$create table t2 with x as (select 1) select * from x$$),
  ($$create table t2 (a int) with system versioning$$)
) v(s);

-- CREATE TABLE as SHOW CREATE TABLE prints it (MySQL 8.0, MariaDB 10.11), and
-- as MySQL logs CREATE TABLE ... SELECT in row-based binlogs
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$CREATE TABLE `t` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `name` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT 'n/a',
  `ts` timestamp NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  `h` int NOT NULL /*!80023 INVISIBLE */,
  `g` point NOT NULL /*!80003 SRID 4326 */,
  `v` int GENERATED ALWAYS AS ((`id` + 1)) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `u` (`name`),
  KEY `k` (`ts`) /*!80000 INVISIBLE */,
  SPATIAL KEY `s` (`g`),
  CONSTRAINT `fk` FOREIGN KEY (`id`) REFERENCES `p` (`id`) ON DELETE CASCADE,
  CONSTRAINT `c` CHECK ((`id` > 0)) /*!80016 NOT ENFORCED */
) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci
/*!50100 PARTITION BY HASH (`id`)
PARTITIONS 4 */$$),
  ($$CREATE TABLE `m` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `ts` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),
  `u` uuid DEFAULT uuid(),
  `e` enum('a','b') NOT NULL DEFAULT 'a',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci$$),
  ($$CREATE TABLE `t2` (
  `a` int DEFAULT NULL
) START TRANSACTION$$),
  ($$DROP TABLE `t1`,`t2` /* generated by server */$$)
) v(s);

-- DROP, TRUNCATE, RENAME
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$DROP TABLE IF EXISTS `t1`$$),
  ($$drop table a, b$$),
  ($$drop tables customer.a, `vt_customer`.`b` cascade$$),
  ($$DROP TABLE `t1` /* generated by server */$$),
  ($$drop temporary table if exists tt$$),
  ($$truncate table t1$$),
  ($$TRUNCATE t$$),
  ($$truncate `vt_customer`.`t`;$$),
  ($$rename table t3 to t3b$$),
  ($$RENAME TABLE a TO tmp, b TO a, tmp TO b$$),
  ($$rename table db1.a to db2.a$$),
  ($$RENAME TABLES IF EXISTS a TO b$$)
) v(s);

-- Vitess online DDL: the cut-over and table lifecycle statements
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$RENAME TABLE `corder` TO `_vt_hld_6ace8bcef73211ea87e9f875a4d24e90_20200915120410_`, `_vt_vrp_6ace8bcef73211ea87e9f875a4d24e90_20200915120410_` TO `corder`$$),
  ($$create table `_vt_vrp_6ace8bcef73211ea87e9f875a4d24e90_20200915120410_` like `corder`$$),
  ($$ALTER /*vt+ strategy=vitess uuid=6ace8bce */ TABLE corder ADD COLUMN note text$$),
  ($$/* vt+ allow_zero_in_date=1 */ alter table corder drop column note$$),
  ($$drop table if exists `_vt_drp_6ace8bcef73211ea87e9f875a4d24e90_20200915120410_`$$),
  ($$rename table `_vt_hld_6ace8bcef73211ea87e9f875a4d24e90_20200915120410_` to `_vt_prg_6ace8bcef73211ea87e9f875a4d24e90_20200916120410_`$$)
) v(s);

-- statements without effect on a mirrored table's rows or columns
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$create index i on t (x)$$),
  ($$CREATE UNIQUE INDEX i USING BTREE ON `db`.`t` (x(10), y)$$),
  ($$create fulltext index f on t (x)$$),
  ($$drop index i on t$$),
  ($$OPTIMIZE TABLE t$$),
  ($$analyze no_write_to_binlog table t update histogram on a$$),
  ($$check table t$$),
  ($$create view v as select 1$$),
  ($$create or replace algorithm=merge definer=`root`@`localhost` sql security invoker view v as select 1$$),
  ($$alter view v as select 2$$),
  ($$drop view if exists v, w$$),
  ($$create definer=root@localhost trigger tr before insert on t for each row set new.a = 1$$),
  ($$drop trigger tr$$),
  ($$CREATE PROCEDURE p() BEGIN SELECT 'a;b'; END$$),
  ($$create definer=current_user() function f() returns int deterministic return 1$$),
  ($$drop function if exists f$$),
  ($$create event e on schedule every 1 day do delete from t$$),
  ($$create database d$$),
  ($$create schema if not exists d$$),
  ($$alter database d character set utf8mb4$$),
  ($$create user u identified by 'p'$$),
  ($$rename user a to b$$)
) v(s);

-- statements whose effect is unknown: never "no effect"
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$drop database d$$),
  ($$DROP SCHEMA IF EXISTS `vt_customer`$$),
  ($$REPAIR TABLE t$$),
  ($$create sequence s$$),
  ($$alter table t add period for p (a, b)$$),
  ($$alter table t drop system versioning$$),
  ($$alter table t frobnicate, add column x int$$),
  ($$alter table t add x int, add y int default$$),
  ($$alter table t add column x garbage$$),
  ($$alter table t add x int whatever, drop y$$),
  ($$alter table t add x int drop y$$),
  ($$alter table t add column x int; drop table y$$),
  ($$alter table t add column x int) , add y int$$),
  ($$create table t$$),
  ($$create table t (a int$$),
  ($$create table t (a int) x ) y$$),
  ($$alter table add column x int$$),
  ($$truncate table$$),
  ($$rename table a$$),
  ($$rename table a to$$),
  ($$drop table a,$$),
  ($$create$$),
  ($$alter$$),
  ($$drop table if exists a.b.c$$)
) v(s);

-- lexical cases
SELECT pg_temp.ddl(s) FROM (VALUES
  ($$AlTeR TaBlE T AdD CoLuMn X InT nOt NuLl DeFaUlT 1$$),
  ($$alter table `we``ird` add column `a b.c` int, add `x'y"z` int, add `` int, add `select` int$$),
  ($$alter table tëst add column ñame varchar(10), add 名前 text, add `😀` int$$),
  ($$alter table `vt_customer`.`t` add x int$$),
  ($$alter table customer.t add x int$$),
  ($$alter table `customer`.t add x int$$),
  ($$alter table "t" add "x" int$$),
  ($$alter table 1t add 2c int, add 3e4x int, add $x int$$),
  (E'alter table t -- a comment, add y int\n add x int # another\n, add /* c, add z */ b int'),
  (E'alter table t add x int --'),
  (E'alter table t add x int --\n, add y int'),
  ($$alter table t add x int default 1--1$$),
  ($$/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */ /*!50001 VIEW `v` AS select 1 AS `1` */$$),
  ($$alter table t /*!80023 add x int invisible, */ add y int$$),
  ($$/*!40000 ALTER TABLE `t` DISABLE KEYS */$$),
  ($$alter table t /*M!100301 add x int, */ add y int$$),
  ($$alter table t add x int comment '/* not a comment */ -- no'$$),
  ($$alter table t add x varchar(3) default 'a;b';$$),
  (E'\n  alter table t add x int ;\n'),
  ($$alter table t add x int;;$$),
  ('alter table t x' || repeat('é', 30) || ', add y int')
) v(s);

-- garbage: unknown, with a reason, never an error
SELECT pg_temp.ddl(s) FROM (VALUES
  (''), (E'\n\n'), (';'), ('-- only a comment'), ('/* only a comment */'),
  ('((((('), ('))))'), ($$'unterminated$$), ('"unterminated'), ('`unterminated'),
  ('/* unterminated'), ('/*!50001 alter table t add x int'), ('alter table t add x int */'),
  ($$alter table t add x varchar(3) default 'a$$), ($$alter table t add `x int$$),
  ('select 1'), ('insert into t values (1)'), ('garbage text here'), ('x' || chr(1) || 'y'),
  ('alter table t add x enum(''a'''), ('alter table t add x int default ('), ('alter table t add x int default (1'),
  ($$alter table t add x int comment 'a\$$), ('alter table t.'), ('alter table `t`.'), ('alter table .t add x int'),
  ('alter table t add x int, , add y int'), ('alter table t add x int,'), ('drop table t t')
) v(s);

-- huge and deeply nested inputs are parsed in linear time and bounded stack
SELECT length(s), vstream_fdw.parse_ddl(s)->>'kind', vstream_fdw.parse_ddl(s)->>'reason'
FROM (VALUES ('alter table t add x int default ' || repeat('(', 1000000)),
             ('alter table t add x int default ' || repeat('(', 1000000) || repeat(')', 1000000)),
             ('alter table t add x int comment ''' || repeat('\', 1000001)),
             (repeat('/* x */', 100000) || 'truncate t'),
             ('create procedure p() begin ' || repeat('select ''('';', 100000) || ' end')) v(s);
SELECT jsonb_array_length(j->'actions'), j->'actions'->99999->>'name'
FROM (SELECT vstream_fdw.parse_ddl('alter table t ' || string_agg('add c' || g || ' int', ', ')) AS j
      FROM generate_series(1, 100000) g) x;
SELECT jsonb_array_length(j->'columns'), j->'columns'->4095->>'name'
FROM (SELECT vstream_fdw.parse_ddl('create table t (' || string_agg('c' || g || ' int', ', ') || ')') AS j
      FROM generate_series(1, 4096) g) x;
SELECT jsonb_array_length(j->'actions'), j->'actions'->99999->>'name', length(j->'actions'->99999->>'text')
FROM (SELECT vstream_fdw.parse_ddl('alter table t add column (' || string_agg('c' || g || ' int', ', ') || ')') AS j
      FROM generate_series(1, 100000) g) x;
SELECT j->'actions'->0->'column'->>'type'
FROM (SELECT vstream_fdw.parse_ddl('alter table t add x varchar(1) charset latin1' || repeat(' binary', 1000000)) AS j) x;

-- any byte sequence, invalid UTF-8 included (a SQL_ASCII database lets text
-- carry any byte)
\set regress_db :DBNAME
CREATE DATABASE ddl_parse_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c ddl_parse_ascii
\pset format unaligned
\pset tuples_only on
CREATE EXTENSION vstream_fdw;
SELECT convert_to(j->'table'->>'name', 'SQL_ASCII') AS table_name,
       convert_to(j->'actions'->0->>'name', 'SQL_ASCII') AS column1,
       convert_to(j->'actions'->1->>'name', 'SQL_ASCII') AS column2,
       convert_to(j->'actions'->1->'column'->>'default_value', 'SQL_ASCII') AS default2
FROM (SELECT vstream_fdw.parse_ddl(E'alter table t\xff add column \xc3 int, add `\xe2\x82` int default \'\xff\xfe\'') AS j) x;
SELECT vstream_fdw.parse_ddl(E'alter table t add x int comment \'\xf0\x9f\x98') ->> 'reason';
SELECT count(*) AS parsed, count(*) FILTER (WHERE j->>'kind' = 'unknown' AND j->>'reason' IS NULL) AS unknown_without_reason
FROM (SELECT vstream_fdw.parse_ddl(prefix || s) AS j
      FROM (SELECT string_agg(chr(1 + ((g * 7919 + k * 104729) % 255)), '') AS s
            FROM generate_series(1, 300) g, generate_series(1, 40) k GROUP BY g) r,
           (VALUES (''), ('alter table t add '), ('create table t (a int'), ('alter table t add x int default ')) p(prefix)) x;
\c :regress_db
DROP DATABASE ddl_parse_ascii;
