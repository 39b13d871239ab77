--
-- Foreign server, user mapping and foreign table options.
--
\set VERBOSITY default

-- a valid server
CREATE SERVER vt FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (host '127.0.0.1', port '15991', keyspace 'customer',
           tablet_type 'replica', cells 'zone1', connect_timeout '5',
           max_message_size '33554432', heartbeat_interval '2',
           invalid_values 'null', mysql_port '15306');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'vt';

-- keyspace is required, also after ALTER
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (host '127.0.0.1');
ALTER SERVER vt OPTIONS (DROP keyspace);
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace '');

-- unknown options list the valid ones
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', hots 'x');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', password 'x');

-- bad values
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', port '0');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', port '15991x');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', port '70000');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', host 'a b');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', tablet_type 'master');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', tls 'maybe');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', sslrootcert '/tmp/ca.pem');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', connect_timeout '0');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', max_message_size '10');
-- the receive buffer (one message) grows inside an nghttp2 callback, which
-- must never raise an error: max_message_size stays well below 1 GiB
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', max_message_size '1073741823');
CREATE SERVER big FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', max_message_size '536870912');
DROP SERVER big;
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', heartbeat_interval '-1');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', invalid_values 'skip');
CREATE SERVER bad FOREIGN DATA WRAPPER vstream_fdw OPTIONS (keyspace 'k', drop_policy 'delete');
SELECT count(*) AS bad_servers FROM pg_foreign_server WHERE srvname = 'bad';

-- TLS modes
CREATE SERVER vt_tls FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (keyspace 'k', tls 'verify-full', sslrootcert '/etc/ssl/certs/ca.pem');
ALTER SERVER vt_tls OPTIONS (SET tls 'VERIFY-CA');
ALTER SERVER vt_tls OPTIONS (SET tls 'require', DROP sslrootcert);
ALTER SERVER vt_tls OPTIONS (SET tls 'disable');
ALTER SERVER vt_tls OPTIONS (ADD sslrootcert '/etc/ssl/certs/ca.pem');
DROP SERVER vt_tls;

-- user mappings
CREATE USER MAPPING FOR CURRENT_USER SERVER vt OPTIONS (user 'app', password 'app-secret');
CREATE USER MAPPING FOR PUBLIC SERVER vt OPTIONS (keyspace 'k');
CREATE USER MAPPING FOR PUBLIC SERVER vt OPTIONS (user 'u', sslcert '/tmp/c.pem');
CREATE USER MAPPING FOR PUBLIC SERVER vt OPTIONS (user 'u', sslkey '/tmp/k.pem');
CREATE USER MAPPING FOR PUBLIC SERVER vt
  OPTIONS (user 'u', sslcert '/tmp/c.pem', sslkey '/tmp/k.pem');

-- a role that does not own the superuser's mapping cannot see its password
CREATE ROLE vsf_reader;

-- an error about a user mapping never echoes the password
CREATE USER MAPPING FOR vsf_reader SERVER vt OPTIONS (password 'do-not-show-me', bogus 'x');
GRANT USAGE ON FOREIGN SERVER vt TO vsf_reader;
CREATE USER MAPPING FOR vsf_reader SERVER vt OPTIONS (user 'reader', password 'reader-secret');
SET ROLE vsf_reader;
SELECT CASE WHEN usename IN ('public', 'vsf_reader') THEN usename ELSE 'the superuser' END AS usename,
       umoptions
  FROM pg_user_mappings WHERE srvname = 'vt' ORDER BY 1;
SELECT * FROM pg_user_mapping;
RESET ROLE;

-- foreign tables take table_name only
CREATE FOREIGN TABLE live_customer (customer_id bigint, email text)
  SERVER vt OPTIONS (table_name 'customer');
CREATE FOREIGN TABLE bad_ft (a int) SERVER vt OPTIONS (tablename 'x');
CREATE FOREIGN TABLE bad_ft (a int) SERVER vt OPTIONS (table_name '');

-- the wrapper itself takes no options
ALTER FOREIGN DATA WRAPPER vstream_fdw OPTIONS (ADD host 'x');

-- peek() checks its arguments before connecting
SELECT * FROM vstream_fdw.peek('vt', 'yesterday');
SELECT * FROM vstream_fdw.peek('vt', 'current', 0);
SELECT * FROM vstream_fdw.peek('vt', '[{"shard": "0"}]');
SELECT * FROM vstream_fdw.peek('vt', '[]');
SELECT * FROM vstream_fdw.peek('no_such_server');
SET ROLE vsf_reader;
SELECT * FROM vstream_fdw.peek('vt');
RESET ROLE;

-- nothing listens on port 1: a clear connection error
CREATE SERVER vt_down FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (host '127.0.0.1', port '1', keyspace 'k', connect_timeout '2');
SELECT * FROM vstream_fdw.peek('vt_down');

-- clean up
DROP FOREIGN TABLE live_customer;
DROP USER MAPPING FOR vsf_reader SERVER vt;
DROP USER MAPPING FOR CURRENT_USER SERVER vt;
DROP USER MAPPING FOR PUBLIC SERVER vt;
REVOKE USAGE ON FOREIGN SERVER vt FROM vsf_reader;
DROP ROLE vsf_reader;
DROP SERVER vt, vt_down;
