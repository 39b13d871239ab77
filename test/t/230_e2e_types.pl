# 230_e2e_types.pl -- type fidelity through the real Vitess.
#
# For every MySQL type (MariaDB 10.11 behind Vitess 24, see
# test/vitess/README.md): NULL, minimum, maximum and awkward values are
# inserted into typetest_* tables of keyspace commerce before a stream starts
# (copy phase) and again while it runs (replication phase, ids + 100).  Then
# every cell of every mirror row is compared with what the source returns
# through VTGate's MySQL port, both rendered in one canonical text form:
#
#   integers, DECIMAL     CAST(.. AS CHAR)            ::text
#   FLOAT / DOUBLE        the IEEE value (CAST(.. AS DOUBLE) on the source,
#                         ::float8 on the mirror), compared bit for bit
#   BIT(n)                LPAD(BIN(..), n, '0')       ::text
#   DATE / DATETIME(n)    CAST(.. AS CHAR)            to_char(.., '... .FFn')
#   TIMESTAMP(n)          CAST(.. AS CHAR) in a +00:00 session, and in an
#                         Europe/Berlin session       to_char(.. AT TIME ZONE ..)
#   TIME(n)               CAST(.. AS CHAR)            sign || to_char(|..|, 'HH24:MI:SS.FFn')
#   YEAR                  CAST(.. AS CHAR)            lpad(::text, 4, '0')
#   strings, ENUM, SET,   HEX(CONVERT(.. USING utf8mb4))  encode(convert_to(.., 'UTF8'), 'hex')
#   JSON                  same, plus a canonical JSON comparison (sorted keys)
#   binary, GEOMETRY      HEX(..)                     encode(.., 'hex')
#
# The mirror column types are checked against docs/types.md.  The PostgreSQL
# node runs with TimeZone Europe/Berlin, so a conversion that depended on the
# session time zone would show.
#
# Then the invalid value policy: a zero date with the default policy stops
# the stream (copy phase and replication phase) with an error naming table,
# column and shard; with invalid_values 'null' the stream goes on and stores
# NULL.
#
# Needs the local cluster of test/vitess/cluster-up.sh ($VSTREAM_VITESS_ENV,
# default /tmp/vt-vstream/env.sh); skipped without it.  Creates and drops
# only tables named typetest_* in commerce.  If the commerce tablet's MariaDB
# has no time zone tables, Europe/Berlin is loaded into it (without binlog).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../perl";

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use VitessCluster;

our $TODO;

my $vt = VitessCluster->require_cluster;
my $KS = 'commerce';
my $SHARD = '0';
my $REPL_OFFSET = 100;		# replication-phase rows: id + 100

# ------------------------------------------------------------------ helpers

# MySQL string literal with exactly these (UTF-8) bytes, independent of the
# client character set.
sub my_str
{
	my ($s) = @_;
	utf8::encode($s);    # a character string (the file is use utf8)
	return "_utf8mb4''" if $s eq '';
	return "_utf8mb4 x'" . unpack('H*', $s) . "'";
}

# Binary literal.
sub my_bin
{
	my ($b) = @_;
	return "x''" if $b eq '';
	return "x'" . unpack('H*', $b) . "'";
}

# Printable form of a rendered value for messages: hex strings are shown
# decoded as well.
sub show
{
	my ($v, $hex) = @_;
	return 'NULL' unless defined $v;
	my $s = "'$v'";
	if ($hex && $v =~ /^[0-9a-fA-F]*$/ && length($v) % 2 == 0)
	{
		my $raw = pack('H*', $v);
		my $txt = $raw;
		utf8::decode($txt);
		$txt =~ s/([^\x20-\x7e\x{a0}-\x{10ffff}])/sprintf('\\x%02x', ord $1)/ge;
		$txt = substr($txt, 0, 60) . "...(" . length($raw) . " bytes)" if length($txt) > 60;
		utf8::encode($txt);
		$s = (length($v) > 80 ? "'" . substr($v, 0, 80) . "...'" : $s) . " = \"$txt\"";
	}
	return $s;
}

# Run SQL through VTGate (session sql_mode/time_zone as given); rows of
# values, NULL = undef.
sub src_rows
{
	my ($sql, %o) = @_;
	my $pre = "set time_zone = '" . ($o{tz} // '+00:00') . "';\n";
	$pre .= "set sql_mode = '$o{sql_mode}';\n" if defined $o{sql_mode};
	$sql = $pre . $sql;
	utf8::encode($sql);    # characters (use utf8) to UTF-8 bytes
	return $vt->mysql_rows($KS, $sql, timeout => 300);
}

sub src_exec
{
	my ($sql, %o) = @_;
	my $pre = "set time_zone = '" . ($o{tz} // '+00:00') . "';\n";
	$pre .= "set sql_mode = '$o{sql_mode}';\n" if defined $o{sql_mode};
	$sql = $pre . $sql;
	utf8::encode($sql);    # characters (use utf8) to UTF-8 bytes
	return $vt->mysql($KS, $sql, timeout => 300);
}

# Rows of a psql query whose columns are all rendered as text without '|';
# NULL is returned as undef.
sub pg_rows
{
	my ($node, $sql) = @_;
	my $out = $node->safe_psql('postgres', $sql);
	my @rows;
	for my $line (split /\n/, $out)
	{
		push @rows, [ map { $_ eq '<NULL>' ? undef : $_ } split /\|/, $line, -1 ];
	}
	return \@rows;
}

sub wait_until { return VitessCluster::wait_until(@_); }

# ------------------------------------------------------------ column kinds
#
# A check is [ name suffix, source expression, mirror expression,
# comparison, options ]; %s in the expressions is the quoted column.
# Options: tz (source session time zone, default +00:00), only (a phase),
# todo ({ phase => reason }: a known gap, see docs/types.md).  Comparisons: text (exact),
# hex (case-insensitive, shown decoded), double (IEEE double bit pattern),
# float (float32 value of the text the MySQL port shows), json (canonical
# JSON of the hex-encoded UTF-8 text, and exact text).

sub frac { my ($n) = @_; return $n ? ".FF$n" : ''; }

my $FLOAT_COPY_TODO = 'MariaDB sends FLOAT as SELECT shows it (6 significant digits) in the copy phase';
my $ENUM4_REPL_TODO = 'ENUM/SET labels with 4-byte UTF-8 characters arrive as "?" in the replication phase (MariaDB information_schema is utf8mb3)';

my %KIND = (
	int => sub { [ [ '', 'CAST(%s AS CHAR)', '%s::text', 'text' ] ] },
	dec => sub { [ [ '', 'CAST(%s AS CHAR)', '%s::text', 'text' ] ] },
	float => sub {
		[
			[ '', 'CAST(%s AS DOUBLE)', '%s::float8::text', 'double',
				{ todo => { copy => $FLOAT_COPY_TODO } } ],
			# what SELECT shows (6 significant digits on MariaDB): the copy
			# phase reads the same text
			[ '@port', '%s', '%s::float8::text', 'float', { only => 'copy' } ],
		];
	},
	double => sub { [ [ '', '%s', '%s::float8::text', 'double' ] ] },
	bit => sub {
		my ($n) = @_;
		[ [ '', "LPAD(BIN(%s), $n, '0')", '%s::text', 'text' ] ];
	},
	date => sub { [ [ '', 'CAST(%s AS CHAR)', q{to_char(%s, 'YYYY-MM-DD')}, 'text' ] ] },
	datetime => sub {
		my ($n) = @_;
		[ [ '', 'CAST(%s AS CHAR)', "to_char(%s, 'YYYY-MM-DD HH24:MI:SS" . frac($n) . "')", 'text' ] ];
	},
	timestamp => sub {
		my ($n) = @_;
		[
			[ '', 'CAST(%s AS CHAR)',
				"to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS" . frac($n) . "')", 'text' ],
			[ '@epoch', 'CAST(UNIX_TIMESTAMP(%s) AS CHAR)', 'extract(epoch from %s)::text', 'number' ],
			[ '@berlin', 'CAST(%s AS CHAR)',
				"to_char(%s AT TIME ZONE 'Europe/Berlin', 'YYYY-MM-DD HH24:MI:SS" . frac($n) . "')",
				'text', { tz => 'Europe/Berlin' } ],
		];
	},
	time => sub {
		my ($n) = @_;
		my $f = "'HH24:MI:SS" . frac($n) . "'";
		[ [ '', 'CAST(%s AS CHAR)',
				"CASE WHEN %s < interval '0' THEN '-' || to_char(-%s, $f) ELSE to_char(%s, $f) END",
				'text' ] ];
	},
	year => sub { [ [ '', 'CAST(%s AS CHAR)', q{lpad(%s::text, 4, '0')}, 'text' ] ] },
	str => sub { [ [ '', 'HEX(CONVERT(%s USING utf8mb4))', q{encode(convert_to(%s, 'UTF8'), 'hex')}, 'hex' ] ] },
	bin => sub { [ [ '', 'HEX(%s)', q{encode(%s, 'hex')}, 'hex' ] ] },
	json => sub { [ [ '', 'HEX(CONVERT(%s USING utf8mb4))', q{encode(convert_to(%s::text, 'UTF8'), 'hex')}, 'json' ] ] },
);

# ------------------------------------------------------------------ tables
#
# Each table: columns [ name, DDL type, kind, kind arg, expected mirror type ]
# and rows [ label, { column => SQL literal } (absent = NULL), { src_exec options } ].  Copy-phase
# rows get ids 1.., replication-phase rows the same values with id + 100.

my $E = "\x{1F600}";    # grinning face, 4 bytes in UTF-8
my $FLAG = "\x{1F1E9}\x{1F1EA}";    # regional indicators D E

my @TABLES;

# --- integers, DECIMAL, floats, BIT, YEAR
push @TABLES, {
	name => 'typetest_num',
	cols => [
		[ 'ti', 'tinyint', 'int', 0, 'smallint' ],
		[ 'tiu', 'tinyint unsigned', 'int', 0, 'smallint' ],
		[ 'tbool', 'tinyint(1)', 'int', 0, 'smallint' ],
		[ 'si', 'smallint', 'int', 0, 'smallint' ],
		[ 'siu', 'smallint unsigned', 'int', 0, 'integer' ],
		[ 'mi', 'mediumint', 'int', 0, 'integer' ],
		[ 'miu', 'mediumint unsigned', 'int', 0, 'integer' ],
		[ 'ii', 'int', 'int', 0, 'integer' ],
		[ 'iu', 'int unsigned', 'int', 0, 'bigint' ],
		[ 'bi', 'bigint', 'int', 0, 'bigint' ],
		[ 'biu', 'bigint unsigned', 'int', 0, 'numeric(20,0)' ],
		[ 'd65_30', 'decimal(65,30)', 'dec', 0, 'numeric(65,30)' ],
		[ 'd65_0', 'decimal(65,0)', 'dec', 0, 'numeric(65,0)' ],
		[ 'd10_2', 'decimal(10,2)', 'dec', 0, 'numeric(10,2)' ],
		[ 'd5_5u', 'decimal(5,5) unsigned', 'dec', 0, 'numeric(5,5)' ],
		[ 'f', 'float', 'float', 0, 'real' ],
		[ 'dbl', 'double', 'double', 0, 'double precision' ],
		[ 'b1', 'bit(1)', 'bit', 1, 'bit(1)' ],
		[ 'b10', 'bit(10)', 'bit', 10, 'bit(10)' ],
		[ 'b64', 'bit(64)', 'bit', 64, 'bit(64)' ],
		[ 'y', 'year', 'year', 0, 'smallint' ],
	],
	rows => [
		[ 'null', {} ],
		[ 'min', {
			ti => -128, tiu => 0, tbool => -128, si => -32768, siu => 0,
			mi => -8388608, miu => 0, ii => -2147483648, iu => 0,
			bi => '-9223372036854775808', biu => 0,
			d65_30 => '-' . ('9' x 35) . '.' . ('9' x 30),
			d65_0 => '-' . ('9' x 65), d10_2 => '-99999999.99', d5_5u => '0',
			f => '-3.4028234663852886e38', dbl => '-1.7976931348623157e308',
			b1 => "b'0'", b10 => "b'0'", b64 => "b'0'", y => 1901,
		} ],
		[ 'max', {
			ti => 127, tiu => 255, tbool => 127, si => 32767, siu => 65535,
			mi => 8388607, miu => 16777215, ii => 2147483647, iu => 4294967295,
			bi => '9223372036854775807', biu => '18446744073709551615',
			d65_30 => ('9' x 35) . '.' . ('9' x 30),
			d65_0 => '9' x 65, d10_2 => '99999999.99', d5_5u => '0.99999',
			f => '3.4028234663852886e38', dbl => '1.7976931348623157e308',
			b1 => "b'1'", b10 => "b'1111111111'", b64 => "b'" . ('1' x 64) . "'", y => 2155,
		} ],
		[ 'zero', {
			ti => 0, tiu => 0, tbool => 0, si => 0, siu => 0, mi => 0, miu => 0,
			ii => 0, iu => 0, bi => 0, biu => 0, d65_30 => 0, d65_0 => 0,
			d10_2 => 0, d5_5u => 0, f => 0, dbl => 0,
			b1 => "b'0'", b10 => "b'0'", b64 => "b'0'", y => 0,
		} ],
		[ 'awkward', {
			ti => -1, tiu => 128, tbool => 2, si => -1, siu => 32768,
			mi => -1, miu => 8388608, ii => -1, iu => 2147483648,
			bi => -1, biu => '9223372036854775808',
			d65_30 => '0.' . ('0' x 29) . '1', d65_0 => '-1',
			d10_2 => '-0.01', d5_5u => '0.00001',
			f => '1.17549435e-38', dbl => '4.9406564584124654e-324',
			b1 => "b'1'", b10 => "b'1000000001'", b64 => "b'1" . ('0' x 63) . "'",
			y => "'2000'",
		} ],
		[ 'awkward2', {
			ti => 1, tiu => 1, tbool => 1, si => 1, siu => 1, mi => 1, miu => 1,
			ii => 1, iu => 1, bi => '1234567890123456789', biu => '12345678901234567890',
			d65_30 => '12345678901234567890123456789012345.123456789012345678901234567890',
			d65_0 => '12345678901234567890123456789012345678901234567890123456789012345',
			d10_2 => '12345678.9', d5_5u => '0.5',
			f => '0.1', dbl => '0.1',
			b1 => "b'0'", b10 => "b'0101010101'", b64 => "b'" . ('01' x 32) . "'",
			y => 1999,
		} ],
		[ 'awkward3', {
			f => '16777217', dbl => '2.2250738585072014e-308',
			d10_2 => '0.5', biu => '18446744073709551614',
		} ],
	],
};

# --- dates and times (values for TIMESTAMP are given in UTC)
my @DT = map { [ "dt$_", "datetime($_)", 'datetime', $_, "timestamp($_) without time zone" ] } 0 .. 6;
my @TS = map { [ "ts$_", "timestamp($_) null default null", 'timestamp', $_, "timestamp($_) with time zone" ] } 0 .. 6;
push @TABLES, {
	name => 'typetest_time',
	cols => [
		[ 'd', 'date', 'date', 0, 'date' ],
		@DT, @TS,
		[ 't0', 'time', 'time', 0, 'interval' ],
		[ 't1', 'time(1)', 'time', 1, 'interval' ],
		[ 't3', 'time(3)', 'time', 3, 'interval' ],
		[ 't6', 'time(6)', 'time', 6, 'interval' ],
	],
	rows => [
		[ 'null', {} ],
		[ 'min', {
			d => "'1000-01-01'",
			(map { ("dt$_" => "'1000-01-01 00:00:00'") } 0 .. 6),
			(map { ("ts$_" => "'1970-01-01 00:00:01'") } 0 .. 6),
			t0 => "'-838:59:59'", t1 => "'-838:59:59.9'", t3 => "'-838:59:59.999'",
			t6 => "'-838:59:59.999999'",
		} ],
		[ 'max', {
			d => "'9999-12-31'",
			(map { ("dt$_" => "'9999-12-31 23:59:59" . ($_ ? '.' . ('9' x $_) : '') . "'") } 0 .. 6),
			(map { ("ts$_" => "'2038-01-19 03:14:07" . ($_ ? '.' . ('9' x $_) : '') . "'") } 0 .. 6),
			t0 => "'838:59:59'", t1 => "'838:59:59.9'", t3 => "'838:59:59.999'",
			t6 => "'838:59:59.999999'",
		} ],
		[ 'year1', {
			d => "'0001-01-01'",
			(map { ("dt$_" => "'0001-01-01 00:00:00'") } 0 .. 6),
			t0 => "'00:00:00'", t6 => "'-00:00:00.000001'", t1 => "'24:00:00.5'",
			t3 => "'100:00:00.125'",
		} ],
		[ 'fraction', {
			d => "'2024-02-29'",
			(map { ("dt$_" => "'2024-02-29 12:34:56.000001'") } 0 .. 6),
			(map { ("ts$_" => "'2024-02-29 12:34:56.000001'") } 0 .. 6),
			t0 => "'-00:00:01'", t1 => "'-25:30:00.5'", t3 => "'12:34:56.001'",
			t6 => "'23:59:59.999999'",
		} ],
		[ 'fraction2', {
			d => "'1970-01-01'",
			(map { ("dt$_" => "'1999-12-31 23:59:59.5'") } 0 .. 6),
			(map { ("ts$_" => "'2000-01-01 00:00:00.1'") } 0 .. 6),
			t0 => "'-100:00:00'", t1 => "'00:00:00.1'", t3 => "'-00:00:00.5'",
			t6 => "'00:00:00.000001'",
		} ],
	],
	# rows inserted in a Europe/Berlin session (or, without time zone
	# tables, at the offset given): wall-clock literals around the 2024
	# DST changes; DATETIME columns get the same literal, unconverted.
	dst_rows => [
		[ 'dst_spring_before', '+01:00', '2024-03-31 01:59:59.999999' ],
		[ 'dst_spring_after', '+02:00', '2024-03-31 03:00:00' ],
		[ 'dst_autumn_first', '+02:00', '2024-10-27 02:30:00.5' ],
		[ 'dst_autumn_after', '+01:00', '2024-10-27 03:00:00' ],
		[ 'dst_autumn_before', '+02:00', '2024-10-27 01:59:59.999999' ],
	],
};

# --- strings in three character sets, binary strings, ENUM, SET
my @latin1_specials = map { chr } (0x20AC, 0x201A, 0x192, 0x201E, 0x2026, 0x2020,
	0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x17D, 0x2018, 0x2019,
	0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A,
	0x153, 0x17E, 0x178, 0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xA0, 0xFF);
push @TABLES, {
	name => 'typetest_str',
	cols => [
		[ 'c4', 'char(10) character set utf8mb4', 'str', 0, 'text' ],
		[ 'v4', 'varchar(255) character set utf8mb4', 'str', 0, 'text' ],
		[ 't4', 'text character set utf8mb4', 'str', 0, 'text' ],
		[ 'c3', 'char(10) character set utf8mb3', 'str', 0, 'text' ],
		[ 'v3', 'varchar(255) character set utf8mb3', 'str', 0, 'text' ],
		[ 't3', 'text character set utf8mb3', 'str', 0, 'text' ],
		[ 'c1', 'char(10) character set latin1', 'str', 0, 'text' ],
		[ 'v1', 'varchar(255) character set latin1', 'str', 0, 'text' ],
		[ 't1', 'text character set latin1', 'str', 0, 'text' ],
		[ 'vbin', 'varchar(50) character set utf8mb4 collate utf8mb4_bin', 'str', 0, 'text' ],
		[ 'lt', 'longtext character set utf8mb4', 'str', 0, 'text' ],
		[ 'bn', 'binary(8)', 'bin', 0, 'bytea' ],
		[ 'vb', 'varbinary(255)', 'bin', 0, 'bytea' ],
		[ 'bl', 'blob', 'bin', 0, 'bytea' ],
		[ 'lb', 'longblob', 'bin', 0, 'bytea' ],
		[ 'e', q{enum('small','medium','large','x-large','ünï €')}, 'str', 0, 'text' ],
		[ 's', q{set('a','b','c','d','é')}, 'str', 0, 'text' ],
		[ 'e4', q{enum('small','ünï 😀')}, 'str', 0, 'text', { todo => { repl => $ENUM4_REPL_TODO } } ],
		[ 's4', q{set('a','😀b','c')}, 'str', 0, 'text', { todo => { repl => $ENUM4_REPL_TODO } } ],
	],
	rows => [
		[ 'null', {} ],
		[ 'min', {
			(map { ($_ => my_str('')) } qw(c4 v4 t4 c3 v3 t3 c1 v1 t1 vbin lt)),
			(map { ($_ => "x''") } qw(bn vb bl lb)),
			e => q{'small'}, s => q{''}, e4 => q{'small'}, s4 => q{''},
		} ],
		[ 'max', {
			c4 => my_str($E x 10), v4 => my_str($E x 255),
			t4 => my_str(($E x 16383) . 'xxx'),    # 65535 bytes
			c3 => my_str("\x{20AC}" x 10), v3 => my_str("\x{4E2D}" x 255),
			t3 => my_str("\x{20AC}" x 21845),      # 65535 bytes
			c1 => my_str("\x{FF}" x 10), v1 => my_str("\x{E9}" x 255),
			t1 => my_str("\x{E9}" x 65535),
			vbin => my_str("\x{FFFD}" x 50),
			lt => my_str("\x{1F4A9}" x 100000),    # 400 kB
			bn => my_bin("\xff" x 8), vb => my_bin("\xff" x 255),
			bl => my_bin(join('', map { chr($_ % 256) } 0 .. 65534)),
			lb => my_bin(join('', map { chr(($_ * 7) % 256) } 0 .. 299_999)),
			e => my_str("ünï €"), s => my_str("a,b,c,d,é"),
			e4 => my_str("ünï $E"), s4 => my_str("c,😀b,a"),
		} ],
		[ 'awkward', {
			c4 => my_str("ab  "), v4 => my_str("ab  "),
			t4 => my_str("tab\there\nnewline\r\\backslash 'single' \"double\" $E $FLAG zw\x{200B}j \x{FEFF}bom %_ "),
			c3 => my_str(" lead"), v3 => my_str("\x{20AC} trailing "),
			t3 => my_str("\x{E9}\x{E8}\x{EA} \x{4E2D}\x{6587} \x{FFFD} \x{7F}"),
			c1 => my_str("\x{E9}\x{20AC} "), v1 => my_str(join('', @latin1_specials)),
			t1 => my_str("\x{C0}\x{FF}\x{E4}\x{F6}\x{FC}\x{DF}\x{C6} \t\n"),
			vbin => my_str("\x{C4}BC  "),
			lt => my_str("line1\nline2\n"),
			bn => my_bin("\x00"), vb => my_bin("\x00\xff\x00"), bl => my_bin("\x00\x01\x02"),
			lb => my_bin("\x00"),
			e => q{'medium'}, s => q{'a,c'},
		} ],
		[ 'awkward2', {
			c4 => my_str("   "), v4 => my_str("   "), t4 => my_str(" "),
			c3 => my_str("x"), v3 => my_str(""), t3 => my_str("\x{FFFF}"),
			c1 => my_str("\x{A0}"), v1 => my_str("\x{FF}"), t1 => my_str(""),
			vbin => my_str("$E"),
			bn => my_bin("\x00\x01"), vb => my_bin(""), bl => my_bin(""),
			lb => my_bin("\xff\x00\xff\x00"),
			e => my_str('x-large'), s => my_str("é,a"),
		} ],
		# ENUM's '' error value (index 0), stored with a permissive sql_mode
		[ 'enum_error', { e => q{'no such label'}, e4 => q{'nope'}, s => q{''} }, { sql_mode => '' } ],
		[ 'awkward3', {
			bn => my_bin("1234567\x00"), vb => my_bin("\x00" x 5),
			c4 => my_str("\x{E9}\x{301}"), v4 => my_str("NULL"), t4 => my_str("\\N"),
			e => my_str('large'), s => my_str('d,b'),
		} ],
	],
};

# --- JSON (MariaDB: LONGTEXT), GEOMETRY, generated columns
my $deep = '1';
$deep = qq{{"k$_": [$deep, "\x{E9}$_"]}} for 1 .. 14;    # depth 29 (MariaDB allows 32)
push @TABLES, {
	name => 'typetest_misc',
	cols => [
		[ 'j', 'json', 'json', 0, 'text' ],
		[ 'g', 'geometry', 'bin', 0, 'bytea' ],
		[ 'pt', 'point', 'bin', 0, 'bytea' ],
		[ 'poly', 'polygon', 'bin', 0, 'bytea' ],
		[ 'label2', 'varchar(40)', 'str', 0, 'text' ],
		[ 'gv', 'int as (id * 2) virtual', 'int', 0, 'integer' ],
		[ 'gs', 'varchar(60) as (concat(label2, _utf8mb4 x\'f09f9880\')) stored', 'str', 0, 'text' ],
		[ 'gj', q{varchar(100) as (json_value(j, '$.a')) virtual}, 'str', 0, 'text' ],
	],
	rows => [
		[ 'null', {} ],
		[ 'min', {
			j => my_str('{}'), g => q{ST_GeomFromText('POINT(0 0)')},
			pt => q{POINT(0, 0)}, label2 => my_str(''),
		} ],
		[ 'max', {
			j => my_str($deep),
			g => q{ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))', 4326)},
			pt => q{POINT(-1.7976931348623157e308, 1.7976931348623157e308)},
			poly => q{ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))')},
			label2 => my_str('x' x 40),
		} ],
		[ 'awkward', {
			j => my_str(qq{{"a": "\x{E9}$E", "nested": {"arr": [1, 2.5, -0.0, 1e10, true, false, null, "\\u00e9\\ud83d\\ude00", "tab\\t"]}, "": "empty key", "z": {"y": {"x": []}}}}),
			g => q{ST_GeomFromText('LINESTRING(0.1 0.2, 3.4028234663852886e38 -1e-300)', 3857)},
			pt => q{POINT(0.1, -0.2)},
			label2 => my_str("\x{E9}t\x{E9}"),
		} ],
		[ 'awkward2', {
			j => my_str('null'),
			g => q{ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))')},
			label2 => my_str(' '),
		} ],
		[ 'awkward3', { j => my_str('"just a string \u00e9"'), label2 => my_str('a') } ],
		[ 'awkward4', { j => my_str(qq{[1,  2 ,\n 3]}) } ],
	],
};

# ------------------------------------------------------------------- setup

# Europe/Berlin in the commerce tablet's MariaDB (time zone tables are empty
# after mysqlctl init), so that rows can be inserted in a DST zone session.
my $uid = $vt->tablet_uid($KS, $SHARD);
my $have_berlin = 0;
{
	my $n = eval {
		$vt->mysql_direct($uid,
			"select count(*) from mysql.time_zone_name where name = 'Europe/Berlin'");
	};
	if (defined $n && $n =~ /^(\d+)/ && $1 > 0)
	{
		$have_berlin = 1;
	}
	elsif (defined $n && -r '/usr/share/zoneinfo/Europe/Berlin')
	{
		my ($sql, $err) = ('', '');
		my $tool = (grep { -x "$_/mariadb-tzinfo-to-sql" } split /:/, $ENV{PATH})
		  ? 'mariadb-tzinfo-to-sql' : 'mysql_tzinfo_to_sql';
		if (eval {
				IPC::Run::run([ $tool, '--skip-write-binlog',
						'/usr/share/zoneinfo/Europe/Berlin', 'Europe/Berlin' ],
					'>', \$sql, '2>', \$err);
			})
		{
			eval { $vt->mysql_direct($uid, "use mysql;\n$sql"); $have_berlin = 1; };
			note("loading Europe/Berlin failed: $@") unless $have_berlin;
		}
		else
		{
			note("$tool failed: $err $@");
		}
	}
	$have_berlin = 0
	  unless $have_berlin && eval { src_rows("select now()", tz => 'Europe/Berlin'); 1 };
	note($have_berlin
		? 'source sessions can use Europe/Berlin'
		: 'no Europe/Berlin in the source MariaDB: DST rows inserted at fixed offsets, Berlin rendering not compared');
}

sub create_source_tables
{
	for my $t (@TABLES)
	{
		my $cols = join(",\n  ",
			'id int not null primary key', 'label varchar(40)',
			map { "`$_->[0]` $_->[1]" } @{ $t->{cols} });
		src_exec("drop table if exists `$t->{name}`;\n"
			  . "create table `$t->{name}` (\n  $cols\n) engine=InnoDB default charset=utf8mb4");
	}
}

# Insert a table's value set; id = index + 1 + offset.
sub insert_rows
{
	my ($t, $offset, $phase) = @_;
	my @gen = grep { $_->[1] =~ /\bas\s*\(/i } @{ $t->{cols} };
	my %gen = map { $_->[0] => 1 } @gen;
	my @cols = grep { !$gen{ $_->[0] } } @{ $t->{cols} };
	my $i = 0;
	for my $r (@{ $t->{rows} })
	{
		$i++;
		my ($label, $vals, $ro) = @$r;
		my $sql = sprintf("insert into `%s` (id, label, %s) values (%d, '%s', %s)",
			$t->{name}, join(', ', map { "`$_->[0]`" } @cols),
			$i + $offset, "$label/$phase",
			join(', ', map { $vals->{ $_->[0] } // 'NULL' } @cols));
		src_exec($sql, %{ $ro // {} });
	}
	return $i unless $t->{dst_rows};
	for my $r (@{ $t->{dst_rows} })
	{
		$i++;
		my ($label, $offs, $wall) = @$r;
		my @names = ('d', (map { "dt$_" } 0 .. 6), (map { "ts$_" } 0 .. 6));
		my ($date) = split / /, $wall;
		my @v = ("'$date'", map { "'$wall'" } 1 .. 14);
		src_exec(sprintf("insert into `%s` (id, label, %s) values (%d, '%s', %s)",
				$t->{name}, join(', ', @names), $i + $offset, "$label/$phase", join(', ', @v)),
			tz => $have_berlin ? 'Europe/Berlin' : $offs);
	}
	return $i;
}

create_source_tables();
my %nrows;
for my $t (@TABLES)
{
	my $n = eval { insert_rows($t, 0, 'copy') };
	ok(defined $n, "copy-phase rows of $t->{name} inserted") or diag($@);
	$nrows{ $t->{name} } = $n // 0;
}

# ---------------------------------------------------------------- the stream

my $node = $vt->pg_node('types', extra_conf => "timezone = 'Europe/Berlin'");
$vt->create_server($node, 'tt', keyspace => $KS);
my @tnames = map { $_->{name} } @TABLES;
$node->safe_psql('postgres',
	"SELECT vstream_fdw.create_stream('tt', ARRAY['" . join("','", @tnames) . "'], 'tt', 'copy')");

sub mirror_count
{
	my ($schema, $table, $where) = @_;
	my ($rc, $out) = $node->psql('postgres',
		qq{SELECT count(*) FROM "$schema"."$table"} . ($where ? " WHERE $where" : ''));
	return $rc == 0 ? $out : -1;
}

sub wait_rows
{
	my ($schema, $expect, $where, $timeout) = @_;
	my $ok = wait_until(sub {
			for my $t (keys %$expect)
			{
				return 0 unless mirror_count($schema, $t, $where) == $expect->{$t};
			}
			return 1;
		}, $timeout // 90, 0.3);
	unless ($ok)
	{
		diag("mirror row counts: "
			  . join(', ', map { "$_ " . mirror_count($schema, $_, $where) . "/$expect->{$_}" } sort keys %$expect)
			  . "\n" . $vt->status_text($node) . "\n" . VitessCluster::log_tail($node, 30));
	}
	return $ok;
}

my $copied = $vt->wait_replicating($node, 'tt', timeout => 90);
ok($copied, 'stream tt finished its copy phase');
ok(wait_rows('tt', \%nrows, "id <= $REPL_OFFSET", 30), 'every copy-phase row is mirrored');

for my $t (@TABLES)
{
	my $n = eval { insert_rows($t, $REPL_OFFSET, 'repl') };
	ok(defined $n, "replication-phase rows of $t->{name} inserted") or diag($@);
}
my %all = map { $_ => 2 * $nrows{$_} } keys %nrows;
ok(wait_rows('tt', \%all, undef, 90), 'every replication-phase row is mirrored');

# ---------------------------------------------------------------- compare

# Mirror column types.
for my $t (@TABLES)
{
	my $rows = pg_rows($node, qq{
		SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		 WHERE attrelid = 'tt.$t->{name}'::regclass AND attnum > 0 AND NOT attisdropped});
	my %have = map { $_->[0] => $_->[1] } @$rows;
	my @bad;
	for my $c (@{ $t->{cols} })
	{
		my $h = $have{ $c->[0] } // '(missing)';
		push @bad, "$c->[0] ($c->[1]): $h, expected $c->[4]" if $h ne $c->[4];
	}
	is(join("\n", @bad), '', "mirror column types of $t->{name} as in docs/types.md");
}

sub canon_number
{
	my ($v) = @_;
	return $v unless defined $v && $v =~ /^-?\d+(\.\d*)?$/;
	$v =~ s/(\.\d*?)0+$/$1/;
	$v =~ s/\.$//;
	return $v;
}

sub canon_json
{
	my ($hex) = @_;
	my $txt = pack('H*', $hex);
	my $v = eval { JSON::PP->new->allow_nonref->decode($txt) };
	return "(invalid JSON: $txt)" if $@;
	return JSON::PP->new->allow_nonref->canonical->utf8->encode($v);
}

# Compare one rendered cell; returns undef when equal, else a message.
sub cmp_cell
{
	my ($how, $s, $m) = @_;
	return undef if !defined $s && !defined $m;
	return 'source ' . show($s, $how eq 'hex' || $how eq 'json') . ', mirror ' . show($m, $how eq 'hex' || $how eq 'json')
	  if !defined $s || !defined $m;
	if ($how eq 'hex')
	{
		return undef if lc $s eq lc $m;
		return 'source ' . show($s, 1) . ', mirror ' . show($m, 1);
	}
	if ($how eq 'json')
	{
		my ($cs, $cm) = (canon_json($s), canon_json($m));
		return "JSON differs: source $cs, mirror $cm" if $cs ne $cm;
		return 'JSON text differs: source ' . show($s, 1) . ', mirror ' . show($m, 1) if lc $s ne lc $m;
		return undef;
	}
	if ($how eq 'double')
	{
		my ($bs, $bm) = (unpack('H*', pack('d>', $s)), unpack('H*', pack('d>', $m)));
		return undef if $bs eq $bm;
		return "source '$s' (0x$bs), mirror '$m' (0x$bm)";
	}
	if ($how eq 'float')
	{
		# the port's text, as float32, is what the mirror's real holds
		my ($bs, $bm) = (unpack('H*', pack('f>', $s)), unpack('H*', pack('f>', $m)));
		return undef if $bs eq $bm;
		return "source shows '$s' (float32 0x$bs), mirror '$m' (0x$bm)";
	}
	if ($how eq 'number')
	{
		return undef if canon_number($s) eq canon_number($m);
		return "source '$s', mirror '$m'";
	}
	return undef if $s eq $m;
	return "source '$s', mirror '$m'";
}

# Every check of a table: { col, sfx, src, dst, how, tz, only, todo }.
sub table_checks
{
	my ($t) = @_;
	my @checks;
	for my $c (@{ $t->{cols} })
	{
		my $copts = $c->[5] // {};
		for my $k (@{ $KIND{ $c->[2] }->($c->[3]) })
		{
			my ($sfx, $src, $dst, $how, $o) = @$k;
			$o //= {};
			push @checks, {
				col => $c->[0], sfx => $sfx, src => $src, dst => $dst, how => $how,
				tz => $o->{tz} // '+00:00', only => $o->{only},
				todo => { %{ $copts->{todo} // {} }, %{ $o->{todo} // {} } },
			};
		}
	}
	return \@checks;
}

# Fetch source and mirror renderings of every check for the rows with
# $idok->(id); returns (\%src, \%dst, \%label): id => [ value per check ].
sub fetch_renderings
{
	my ($t, $checks, $idok) = @_;
	my (%src, %dst, %label);
	my %tzs = map { $_->{tz} => 1 } @$checks;
	for my $tz (sort keys %tzs)
	{
		next if $tz ne '+00:00' && !$have_berlin;
		my @idx = grep { $checks->[$_]{tz} eq $tz } 0 .. $#$checks;
		my $q = 'select id, label, '
		  . join(', ', map { my $e = $checks->[$_]{src}; $e =~ s/%s/`$checks->[$_]{col}`/g; $e } @idx)
		  . " from `$t->{name}` order by id";
		my $rows = eval { src_rows($q, tz => $tz) };
		fail("source query on $t->{name}: $@") unless $rows;
		for my $r (@{ $rows // [] })
		{
			my ($id, $label, @v) = @$r;
			next unless $idok->($id);
			$label{$id} = $label;
			$src{$id}[ $idx[$_] ] = $v[$_] for 0 .. $#idx;
		}
		my $pq = 'SELECT id, '
		  . join(', ', map {
				my $e = $checks->[$_]{dst};
				$e =~ s/%s/"$checks->[$_]{col}"/g;
				"coalesce(($e)::text, '<NULL>')" } @idx)
		  . qq{ FROM tt."$t->{name}" ORDER BY id};
		my $prows = eval { pg_rows($node, $pq) };
		fail("mirror query on $t->{name}: $@") unless $prows;
		for my $r (@{ $prows // [] })
		{
			my ($id, @v) = @$r;
			next unless $idok->($id);
			$dst{$id}[ $idx[$_] ] = $v[$_] for 0 .. $#idx;
		}
	}
	return (\%src, \%dst, \%label);
}

# One test per table and check: the mirror equals the source in every row
# of this pass.  $phase (copy or repl) selects the known gaps.
sub compare_pass
{
	my ($pass, $phase, $idok) = @_;
	for my $t (@TABLES)
	{
		my $checks = table_checks($t);
		my ($src, $dst, $label) = fetch_renderings($t, $checks, $idok);
		my @ids = sort { $a <=> $b } keys %$src;
		is(join(',', sort { $a <=> $b } keys %$dst), join(',', @ids),
			"$pass: $t->{name} has the same rows in the mirror as in the source");
		for my $ci (0 .. $#$checks)
		{
			my $c = $checks->[$ci];
			next if $c->{only} && $c->{only} ne $phase;
			next if $c->{tz} ne '+00:00' && !$have_berlin;
			my @bad;
			for my $id (@ids)
			{
				next unless $dst->{$id};
				my $msg = cmp_cell($c->{how}, $src->{$id}[$ci], $dst->{$id}[$ci]);
				push @bad, "  id $id ($label->{$id}): $msg" if defined $msg;
			}
			my $name = "$t->{name}.$c->{col}$c->{sfx}";
			local $TODO = $c->{todo}{$phase};
			ok(!@bad, "$pass: $name equals the source (" . scalar(@ids) . ' rows)')
			  or diag("$name, $pass:\n" . join("\n", @bad));
		}
	}
}

compare_pass('copy phase', 'copy', sub { $_[0] <= $REPL_OFFSET });
compare_pass('replication phase', 'repl', sub { $_[0] > $REPL_OFFSET });

# UPDATEs in the replication phase (before and after images with these
# values): replication row 100+i gets the values of copy row i % n + 1.
# A sentinel row inserted afterwards tells when they are applied.
for my $t (@TABLES)
{
	my $n = $nrows{ $t->{name} };
	my @set = map { "a.`$_->[0]` = b.`$_->[0]`" } grep { $_->[1] !~ /\bas\s*\(/i } @{ $t->{cols} };
	my $sql = '';
	for my $i (1 .. $n)
	{
		$sql .= sprintf("update `%s` a join `%s` b on b.id = %d set %s, a.label = concat(b.label, '/upd') where a.id = %d;\n",
			$t->{name}, $t->{name}, $i % $n + 1, join(', ', @set), $i + $REPL_OFFSET);
	}
	$sql .= "insert into `$t->{name}` (id, label) values (999, 'sentinel/repl');\n";
	ok(eval { src_exec($sql); 1 }, "replication-phase updates of $t->{name}") or diag($@);
}
my %upd = map { $_ => 2 * $nrows{$_} + 1 } keys %nrows;
ok(wait_rows('tt', \%upd, undef, 90), 'the updates are applied');
compare_pass('after updates', 'repl', sub { $_[0] > $REPL_OFFSET });

# ------------------------------------------------------------- zero dates

# Zero dates and other values PostgreSQL cannot store (MariaDB keeps them
# with a permissive sql_mode).  typetest_zero_c has one before its streams
# start, typetest_zero_r gets them while streaming.
for my $t (qw(typetest_zero_c typetest_zero_r))
{
	src_exec("drop table if exists `$t`;\n"
		  . "create table `$t` (id int not null primary key, label varchar(40), "
		  . "zero_d date, zero_dt datetime(3), zero_ts timestamp null default null, ok_d date, "
		  . "txt varchar(20))");
}
src_exec("insert into typetest_zero_c values "
	  . "(1, 'valid', '2024-01-02', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05', '2024-01-02', 'ok'),"
	  . "(2, 'zero date', '0000-00-00', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05', '2024-01-03', 'ok')",
	sql_mode => '');
src_exec("insert into typetest_zero_r values "
	  . "(1, 'valid', '2024-01-02', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05', '2024-01-02', 'ok')");
my $zrows = src_rows("select cast(zero_d as char) from typetest_zero_c where id = 2");
is($zrows->[0][0], '0000-00-00', 'the source stores the zero date (sql_mode \'\')');

# Default policy, copy phase.
$vt->create_server($node, 'zd_err', keyspace => $KS);
$node->safe_psql('postgres',
	q{SELECT vstream_fdw.create_stream('zd_err', ARRAY['typetest_zero_c'], 'zd_err', 'copy')});

sub wait_error
{
	my ($server, $timeout) = @_;
	my $err;
	my $ok = wait_until(sub {
			for my $r (@{ $vt->stream_status($node, $server) })
			{
				if ($r->{phase} eq 'error' && length $r->{last_error})
				{
					$err = $r->{last_error};
					return 1;
				}
			}
			return 0;
		}, $timeout // 60, 0.3);
	diag("stream $server did not stop with an error:\n" . $vt->status_text($node)) unless $ok;
	return $err;
}

sub check_zero_error
{
	my ($err, $table, $column, $what) = @_;
	ok(defined $err, "$what: stream in phase error");
	$err //= '';
	like($err, qr/\Q$table\E/, "$what: error names table $table");
	like($err, qr/\b\Q$column\E\b/, "$what: error names column $column");
	like($err, qr/shard\W+\Q$SHARD\E\b/, "$what: error names shard $SHARD");
	like($err, qr/0000-00-00/, "$what: error shows the value") or note("error: $err");
	note("$what: $err");
}

my $err = wait_error('zd_err', 60);
check_zero_error($err, 'typetest_zero_c', 'zero_d', 'zero date in the copy phase, default policy');
# (-1: the mirror table itself was rolled back with the copy transaction)
ok(mirror_count('zd_err', 'typetest_zero_c', 'id = 2') <= 0,
	'the zero-date row is not stored under the default policy')
  if defined $err;

# Default policy, replication phase.
$vt->create_server($node, 'zd_err2', keyspace => $KS);
$node->safe_psql('postgres',
	q{SELECT vstream_fdw.create_stream('zd_err2', ARRAY['typetest_zero_r'], 'zd_err2', 'copy')});
ok($vt->wait_replicating($node, 'zd_err2', timeout => 60), 'stream zd_err2 replicating');
ok(wait_rows('zd_err2', { typetest_zero_r => 1 }, undef, 30), 'zd_err2 copied the valid row');
src_exec("insert into typetest_zero_r values "
	  . "(2, 'zero datetime', '2024-01-02', '0000-00-00 00:00:00.000', '2024-01-02 03:04:05', '2024-01-03', 'ok')",
	sql_mode => '');
$err = wait_error('zd_err2', 60);
check_zero_error($err, 'typetest_zero_r', 'zero_dt', 'zero datetime in the replication phase, default policy');

# NULL policy: both tables, zero values in both phases.
$node->safe_psql('postgres', qq{CREATE SERVER zd_null FOREIGN DATA WRAPPER vstream_fdw
	OPTIONS (host '@{[ $vt->host ]}', port '@{[ $vt->grpc_port ]}', keyspace '$KS',
	         heartbeat_interval '1', invalid_values 'null')});
$node->safe_psql('postgres',
	q{SELECT vstream_fdw.create_stream('zd_null', ARRAY['typetest_zero_c', 'typetest_zero_r'], 'zd_null', 'copy')});
ok($vt->wait_replicating($node, 'zd_null', timeout => 60), 'stream zd_null (invalid_values null) replicating');
src_exec("insert into typetest_zero_c values "
	  . "(3, 'zero everything', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '2024-01-04', "
	  . "_utf8mb4 x'610062'),"    # a NUL byte, which text cannot hold
	  . "(4, 'zero month', '2024-00-10', '2024-01-00 00:00:00', null, '2024-01-05', 'ok')",
	sql_mode => '');
ok(wait_rows('zd_null', { typetest_zero_c => 4, typetest_zero_r => 2 }, undef, 60),
	'zd_null mirrored every row, zero values included');
my $z = pg_rows($node, q{
	SELECT tbl, id, coalesce(zero_d::text, '<NULL>'), coalesce(to_char(zero_dt, 'YYYY-MM-DD HH24:MI:SS.FF3'), '<NULL>'),
	       coalesce(to_char(zero_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '<NULL>'), ok_d::text,
	       coalesce(txt, '<NULL>')
	  FROM (SELECT 'c' AS tbl, * FROM zd_null.typetest_zero_c
	        UNION ALL SELECT 'r', * FROM zd_null.typetest_zero_r) x
	 ORDER BY 1, 2});
my $got = join("\n", map { join('|', map { $_ // 'NULL' } @$_) } @$z);
is($got, join("\n",
		'c|1|2024-01-02|2024-01-02 03:04:05.678|2024-01-02 03:04:05|2024-01-02|ok',
		'c|2|NULL|2024-01-02 03:04:05.678|2024-01-02 03:04:05|2024-01-03|ok',
		'c|3|NULL|NULL|NULL|2024-01-04|NULL',
		'c|4|NULL|NULL|NULL|2024-01-05|ok',
		'r|1|2024-01-02|2024-01-02 03:04:05.678|2024-01-02 03:04:05|2024-01-02|ok',
		'r|2|2024-01-02|NULL|2024-01-02 03:04:05|2024-01-03|ok'),
	'invalid_values null: zero dates and a NUL in text (copy and replication) are stored as NULL, the rest as is');
my $zst = $vt->stream_status($node, 'zd_null');
ok(@$zst && !grep({ $_->{phase} ne 'replicating' || length $_->{last_error} } @$zst),
	'zd_null stays replicating without an error')
  or diag($vt->status_text($node));

# ------------------------------------------------------------------ cleanup

for my $s (qw(tt zd_err zd_err2 zd_null))
{
	$node->psql('postgres', "SELECT vstream_fdw.drop_stream('$s')");
}
$node->stop;
if (!$ENV{VSTREAM_KEEP_TABLES})
{
	src_exec(join(";\n", map { "drop table if exists `$_`" }
			(@tnames, 'typetest_zero_c', 'typetest_zero_r')));
}

done_testing();
