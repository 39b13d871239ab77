--
-- types: MySQL/Vitess type mapping and cell conversion
--
-- vstream_fdw.mysql_type_to_pg() shows the PostgreSQL type a mirror column
-- gets; vstream_fdw.convert_value() converts raw VStream cell bytes the way
-- the apply worker does and returns the text output of the result.
-- The expected output assumes a UTF-8 database; types_1.out is the output
-- for other encodings, where the test is skipped.
--
SELECT getdatabaseencoding() <> 'UTF8' AS skip_test \gset
\if :skip_test
\quit
\endif
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
SET extra_float_digits = 1;
\pset null '(null)'

-- type mapping, derived from column_type
SELECT t AS column_type, vstream_fdw.mysql_type_to_pg(t)
FROM (VALUES ('tinyint'), ('tinyint(1)'), ('tinyint unsigned'),
             ('smallint'), ('smallint unsigned'),
             ('mediumint'), ('mediumint unsigned'),
             ('int'), ('int(10) unsigned'), ('bigint'), ('bigint unsigned'),
             ('bigint(20) unsigned zerofill'),
             ('decimal(10,2)'), ('decimal(65,30)'), ('decimal(10,0) unsigned'),
             ('float'), ('double'),
             ('bit(1)'), ('bit(64)'),
             ('date'), ('datetime'), ('datetime(6)'), ('timestamp'),
             ('timestamp(3)'), ('time'), ('time(6)'), ('year'),
             ('char(4)'), ('varchar(20)'), ('tinytext'), ('longtext'),
             ('binary(4)'), ('varbinary(20)'), ('blob'), ('longblob'),
             ('enum(''a'',''b'')'), ('set(''x'',''y'')'), ('json'),
             ('geometry'), ('point'), ('vector(3)'), ('something_new')
     ) AS v(t);

-- the Vitess type, flags and collation id take part
SELECT vstream_fdw.mysql_type_to_pg('int', 'UINT32');
SELECT vstream_fdw.mysql_type_to_pg('int', 'INT32', 32);
SELECT vstream_fdw.mysql_type_to_pg('bigint unsigned', 'UINT64', 32, 63);
SELECT vstream_fdw.mysql_type_to_pg('', 'DATETIME');
SELECT vstream_fdw.mysql_type_to_pg('', 'BINARY', 128, 63);
-- a utf8mb4_bin VARCHAR arrives typed VARBINARY but is text
SELECT vstream_fdw.mysql_type_to_pg('varchar(20)', 'VARBINARY', 128, 46);
-- a CHAR with the binary charset holds bytes
SELECT vstream_fdw.mysql_type_to_pg('char(4)', 'CHAR', 0, 63);
-- latin1 text is text; ucs2 (collation 35) has no PostgreSQL conversion
SELECT vstream_fdw.mysql_type_to_pg('varchar(10)', 'VARCHAR', 0, 8);
SELECT vstream_fdw.mysql_type_to_pg('varchar(10)', 'VARCHAR', 0, 35);
-- ENUM over a binary collation can arrive typed BINARY
SELECT vstream_fdw.mysql_type_to_pg('enum(''a'',''b'')', 'BINARY', 0, 63);
SELECT vstream_fdw.mysql_type_to_pg('int', 'int128');

-- NULL cells
SELECT vstream_fdw.convert_value('int', NULL);
SELECT vstream_fdw.convert_value('varchar(10)', NULL);

-- integers: min and max of every type
SELECT t AS column_type, v AS value, vstream_fdw.convert_value(t, v::bytea)
FROM (VALUES ('tinyint', '-128'), ('tinyint', '127'),
             ('tinyint unsigned', '255'),
             ('smallint', '-32768'), ('smallint', '32767'),
             ('smallint unsigned', '65535'),
             ('mediumint', '-8388608'), ('mediumint unsigned', '16777215'),
             ('int', '-2147483648'), ('int', '2147483647'),
             ('int unsigned', '4294967295'),
             ('bigint', '-9223372036854775808'),
             ('bigint', '9223372036854775807'),
             ('bigint unsigned', '0'),
             ('bigint unsigned', '18446744073709551615'),
             ('int(5) unsigned zerofill', '00042'),
             ('year', '2024'), ('year', '0000')
     ) AS v(t, v);
SELECT vstream_fdw.convert_value('bigint', '9223372036854775808');
SELECT vstream_fdw.convert_value('int', '12x');
SELECT vstream_fdw.convert_value('int', '12x', invalid_values => 'null');

-- decimals and floats
SELECT t AS column_type, v AS value, vstream_fdw.convert_value(t, v::bytea)
FROM (VALUES ('decimal(10,2)', '-12345678.90'), ('decimal(10,2)', '.5'),
             ('decimal(65,30)',
              '12345678901234567890123456789012345.123456789012345678901234567890'),
             ('decimal(65,30)', '-0.000000000000000000000000000001'),
             ('float', '3.4028235E+38'), ('float', '1.5E+00'),
             ('float', '-0.1'), ('double', '1.7976931348623157E+308'),
             ('double', '2.2250738585072014E-308'), ('double', '0')
     ) AS v(t, v);
SELECT vstream_fdw.convert_value('float', 'NaN');
SELECT vstream_fdw.convert_value('double', '1e999');

-- dates and times
SELECT t AS column_type, v AS value, vstream_fdw.convert_value(t, v::bytea)
FROM (VALUES ('date', '1000-01-01'), ('date', '9999-12-31'),
             ('date', '2024-02-29'),
             ('datetime', '2024-01-02 03:04:05'),
             ('datetime(6)', '2024-02-29 23:59:59.123456'),
             ('datetime(6)', '1000-01-01 00:00:00.000001'),
             ('datetime(3)', '2024-01-02 03:04:05.500'),
             ('timestamp', '1970-01-01 00:00:01'),
             ('timestamp(6)', '2038-01-19 03:14:07.999999'),
             ('time', '00:00:00'), ('time', '12:34:56'),
             ('time', '-00:00:01'), ('time', '100:00:00'),
             ('time', '838:59:59'), ('time', '-838:59:59'),
             ('time(6)', '-12:00:00.250000')
     ) AS v(t, v);
-- TIMESTAMP values arrive in UTC and are stored as timestamptz
SET timezone = 'Europe/Berlin';
SELECT vstream_fdw.convert_value('timestamp(3)', '2024-07-01 12:00:00.125');
SELECT vstream_fdw.convert_value('datetime', '2024-07-01 12:00:00');
SET timezone = 'UTC';

-- values PostgreSQL cannot represent: an error by default ...
SELECT vstream_fdw.convert_value('date', '0000-00-00');
SELECT vstream_fdw.convert_value('datetime', '0000-00-00 00:00:00');
SELECT vstream_fdw.convert_value('datetime(6)', '2024-00-10 00:00:00.000000');
SELECT vstream_fdw.convert_value('date', '2024-02-30');
SELECT vstream_fdw.convert_value('timestamp', '2024-01-01 24:00:00');
SELECT vstream_fdw.convert_value('time', '839:00:00');
SELECT vstream_fdw.convert_value('date', 'yesterday');
-- ... or NULL with invalid_values 'null'
SELECT t AS column_type, v AS value,
       vstream_fdw.convert_value(t, v::bytea, invalid_values => 'null')
FROM (VALUES ('date', '0000-00-00'), ('date', '2024-01-00'),
             ('datetime', '0000-00-00 00:00:00'),
             ('datetime', '2024-00-10 00:00:00'),
             ('timestamp', '0000-00-00 00:00:00'),
             ('date', '2024-02-30')
     ) AS v(t, v);
SELECT vstream_fdw.convert_value('date', '2024-01-01', invalid_values => 'warn');

-- text: UTF-8 is checked, other character sets converted
SELECT vstream_fdw.convert_value('varchar(20)', convert_to('grüße 😀', 'UTF8'));
SELECT vstream_fdw.convert_value('varchar(20)', convert_to('😀', 'UTF8'), 'VARCHAR', 0, 45);
SELECT vstream_fdw.convert_value('varchar(20)', '\xe9'::bytea, 'VARCHAR', 0, 8);
SELECT vstream_fdw.convert_value('text', '\x80e9e8ff'::bytea, 'TEXT', 0, 47);
SELECT vstream_fdw.convert_value('varchar(20)', '\xe9'::bytea, 'VARCHAR', 0, 9);
SELECT vstream_fdw.convert_value('varchar(20)', '\xcff0'::bytea, 'VARCHAR', 0, 51);
-- a binary collation: typed VARBINARY, still text
SELECT vstream_fdw.convert_value('varchar(20)', convert_to('ÄÖÜ', 'UTF8'), 'VARBINARY', 128, 46);
-- trailing spaces are kept as received (MySQL strips them from CHAR)
SELECT format('%L', vstream_fdw.convert_value('char(5)', 'ab'));
SELECT format('%L', vstream_fdw.convert_value('varchar(5)', 'ab  '));
SELECT format('%L', vstream_fdw.convert_value('varchar(5)', ''));
-- invalid UTF-8 and NUL bytes
SELECT vstream_fdw.convert_value('varchar(20)', '\x61c328'::bytea);
SELECT vstream_fdw.convert_value('varchar(20)', '\x610062'::bytea);
SELECT vstream_fdw.convert_value('varchar(20)', '\x00'::bytea, 'VARCHAR', 0, 8);
SELECT vstream_fdw.convert_value('varchar(20)', '\x61c328'::bytea, invalid_values => 'null');

-- binary strings
SELECT t AS column_type, v AS value, vstream_fdw.convert_value(t, v)
FROM (VALUES ('binary(4)', '\x61620000'::bytea), ('binary(4)', '\x6162'),
             ('binary(4)', '\x'), ('varbinary(8)', '\x00ff00'),
             ('blob', '\xdeadbeef'), ('longblob', '\x')
     ) AS v(t, v);
SELECT vstream_fdw.convert_value('', '\x00ff'::bytea, 'VARBINARY', 128, 63);
-- BINARY(n) has n <= 255 in MySQL: a larger n (from column_type or a FIELD's
-- column_length) is not padded, so one FIELD cannot make every cell
-- allocate n bytes
SELECT vstream_fdw.convert_value('binary(2000000000)', '\x0102'::bytea);
SELECT vstream_fdw.convert_value('binary(255)', '\x01'::bytea) = '\x01' || repeat('00', 254);

-- ENUM and SET: labels, or ordinals / bitmasks from older Vitess
SELECT t AS column_type, v AS value, vstream_fdw.convert_value(t, v::bytea)
FROM (VALUES ('enum(''small'',''medium'',''it''''s large'')', 'medium'),
             ('enum(''small'',''medium'',''it''''s large'')', '2'),
             ('enum(''small'',''medium'',''it''''s large'')', '3'),
             ('enum(''small'',''medium'',''it''''s large'')', '0'),
             ('enum(''small'',''medium'',''it''''s large'')', ''),
             ('enum(''é'',''ü'')', '2'),
             ('set(''a'',''b'',''c,d'')', 'a,b'),
             ('set(''a'',''b'',''c'')', '5'),
             ('set(''a'',''b'',''c'')', '0'),
             ('set(''a'',''b'',''c'')', '')
     ) AS v(t, v);
SELECT vstream_fdw.convert_value('enum(''a'',''b'')', '3');
SELECT vstream_fdw.convert_value('set(''a'',''b'')', '4');

-- BIT(n) into bit(n)
SELECT t AS column_type, v AS value, vstream_fdw.convert_value(t, v)
FROM (VALUES ('bit(1)', '\x01'::bytea), ('bit(1)', '\x00'),
             ('bit(5)', '\x15'), ('bit(10)', '\x0201'),
             ('bit(64)', '\xffffffffffffffff'), ('bit(12)', '\x0f')
     ) AS v(t, v);
SELECT vstream_fdw.convert_value('bit(5)', '\x20'::bytea);

-- JSON into jsonb
SELECT vstream_fdw.convert_value('json',
    convert_to('{"name": "Zoë 😀", "tags": ["a", {"deep": [1, 2.50, null, true]}], "n": 12345678901234567890}', 'UTF8'));
SELECT vstream_fdw.convert_value('json', convert_to('"\u00e9 \ud83d\ude00"', 'UTF8'));
SELECT vstream_fdw.convert_value('json', 'null');
SELECT vstream_fdw.convert_value('json', '', 'JSON', 0, 63);
SELECT vstream_fdw.convert_value('json', '{bad');

-- GEOMETRY (SRID + WKB) into bytea, VECTOR into real[]
SELECT vstream_fdw.convert_value('point',
    '\x000000000101000000000000000000f03f0000000000000040'::bytea);
SELECT vstream_fdw.convert_value('vector(3)', '\x0000803f000020c000000000'::bytea);
SELECT vstream_fdw.convert_value('vector(3)', '\x0000803f00'::bytea);

-- an unknown type is text
SELECT vstream_fdw.convert_value('something_new', 'as is');

-- MariaDB UUID / INET6 / INET4 (typed BINARY): text in the copy phase,
-- raw bytes with trailing zero bytes stripped in the replication phase
SELECT t AS column_type, vstream_fdw.mysql_type_to_pg(t, 'BINARY', 160, 63)
FROM (VALUES ('uuid'), ('inet6'), ('inet4')) AS v(t);
SELECT t AS column_type, v AS value,
       vstream_fdw.convert_value(t, v, 'BINARY', 160, 63)
FROM (VALUES ('uuid', '123e4567-e89b-12d3-a456-426614174000'::bytea),
             ('uuid', '\x123e4567e89b12d3a4564266141740'),
             ('inet6', '::1'), ('inet6', '\x00000000000000000000000000000001'),
             ('inet6', '\x20010db8'),
             ('inet6', '\x00000000000000000000ffff01020304'),
             ('inet4', '10.0.0.1'), ('inet4', '\x0a000001'), ('inet4', '\x0a')
     ) AS v(t, v);
SELECT vstream_fdw.convert_value('uuid', '\x00000000000000000000000000000001ff'::bytea, 'BINARY', 160, 63);

-- MariaDB JSON is LONGTEXT on the wire: text
SELECT vstream_fdw.mysql_type_to_pg('longtext', 'BLOB', 144, 46);
-- FLOAT/DOUBLE text differs between copy and replication phase
SELECT vstream_fdw.convert_value('double', '-2.25E+100'),
       vstream_fdw.convert_value('double', '-2.25e100');
