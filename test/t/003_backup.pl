# pg_dump of a database in use, restored into a fresh one, keeps every row
# of every extension table (compared with the dump's own snapshot, taken
# mid-load), verify() and the invariants hold there, and the sequences go
# on: new calls after the restore collide with nothing.
use strict;
use warnings;
use FindBin;
use IPC::Run;
use lib $FindBin::Bin;
use CreditLedger;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $load_py = "$FindBin::Bin/../ledger_load.py";

my $node = preloaded_node('backup', qq{
max_connections = 40
});
$node->safe_psql('postgres', 'CREATE DATABASE ledger; CREATE DATABASE restored');
$node->safe_psql('ledger', 'CREATE EXTENSION credit_ledger');
my $dsn = 'host=' . $node->host . ' port=' . $node->port;
my $tmp = PostgreSQL::Test::Utils::tempdir;

# every extension table as "name rows md5-of-rows", one line each
my $fingerprint = q{
SELECT c.relname || ' ' || (xpath('/row/f/text()', query_to_xml(format(
         'SELECT count(*) || '' '' || coalesce(md5(string_agg(x::text, ''|'' ORDER BY x::text)), ''-'') AS f FROM %s x',
         c.oid::regclass), false, true, '')))[1]::text
FROM pg_class c
WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind = 'r'
ORDER BY c.relname};

my ($load_out, $load_err) = ('', '');
my $load = IPC::Run::start(
	[ '/usr/bin/python3', $load_py, 'run', '--dsn', "$dsn dbname=ledger",
	  '--clients', '8', '--accounts', '6', '--seconds', '10' ],
	'>', \$load_out, '2>', \$load_err);
sleep 4;

# pg_dump in the middle of the load, on a snapshot exported by a session
# that fingerprints the same snapshot
my $dump_py = q{
import os, subprocess, sys
import psycopg2
dsn, out = sys.argv[1:]
conn = psycopg2.connect(dsn)
conn.set_session(isolation_level='REPEATABLE READ', readonly=True)
cur = conn.cursor()
cur.execute('SELECT pg_export_snapshot()')
snapshot = cur.fetchone()[0]
cur.execute(os.environ['FINGERPRINT'])
for (line,) in cur.fetchall():
    print(line)
params = conn.get_dsn_parameters()
subprocess.run(['pg_dump', '-Fc', '--snapshot=' + snapshot, '-f', out, '-h', params['host'],
                '-p', params['port'], '-U', params['user'], 'ledger'], check=True)
conn.rollback()
};
my ($source, $dump_err) = ('', '');
{
	local $ENV{FINGERPRINT} = $fingerprint;
	ok(IPC::Run::run([ '/usr/bin/python3', '-c', $dump_py, "$dsn dbname=ledger", "$tmp/ledger.dump" ],
			'>', \$source, '2>', \$dump_err),
		'pg_dump of the database in use') or diag $dump_err;
}
$load->finish;
is($load->result(0), 0, 'the load ran without a failure') or diag $load_out, $load_err;

$node->command_ok([ 'pg_restore', '--exit-on-error', '-h', $node->host, '-p', $node->port,
		'-d', 'restored', "$tmp/ledger.dump" ], 'pg_restore into a fresh database');
my $restored = $node->safe_psql('restored', $fingerprint);
chomp $source;
note "rows per table at the dump's snapshot:\n", join("\n", map { s/ [0-9a-f-]*$//r } split /\n/, $source);
is($restored, $source, 'every row restored as dumped');
cmp_ok(scalar(grep { (split ' ')[1] > 0 } split /\n/, $source), '>=', 3,
	'the dump caught enough load to prove something');

my ($check_out, $check_err) = ('', '');
ok(IPC::Run::run([ '/usr/bin/python3', $load_py, 'check', '--dsn', "$dsn dbname=restored" ],
		'>', \$check_out, '2>', \$check_err),
	'the invariants hold in the restored database') or diag $check_out, $check_err;

# the sequences go on from where the dump left them
my $after = $node->safe_psql('restored', q{
SELECT (SELECT max(entry_id) FROM credit_ledger.entry) AS e,
       (SELECT max(bucket_id) FROM credit_ledger.bucket) AS b \gset
SELECT entry_id > :e FROM credit_ledger.grant_credits(424242, 10, 'after-restore');
SELECT max(bucket_id) > :b FROM credit_ledger.bucket;
SELECT count(*) = 0 FROM credit_ledger.verify();
});
is($after, "t\nt\nt", 'a grant after the restore takes new ids, verify() empty');

$node->stop;
done_testing();
