# kill -9 of the postmaster and all its children under load, restart, and
# proof that every call a client saw succeed is in the ledger as answered,
# nothing a client saw refused is, and the invariants hold (see
# test/ledger_load.py), and the leased holds of the killed sessions are
# ended. Then the sweeper worker killed alone comes back.
# Durable settings (fsync on): an acknowledged commit must survive.
# CRASH_ROUNDS=10 crashes the server ten times under the load.
use strict;
use warnings;
use FindBin;
use IPC::Run;
use lib $FindBin::Bin;
use CreditLedger;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $rounds = $ENV{CRASH_ROUNDS} || 1;
my $load_py = "$FindBin::Bin/../ledger_load.py";

my $node = preloaded_node('crash', qq{
credit_ledger.sweep_interval = 100ms
max_connections = 40
fsync = on
restart_after_crash = on
});
$node->safe_psql('postgres', 'CREATE EXTENSION credit_ledger');
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';

my ($load_out, $load_err) = ('', '');
my $load = IPC::Run::start(
	[ '/usr/bin/python3', $load_py, 'run', '--dsn', $dsn, '--crash-tolerant',
	  '--clients', '8', '--accounts', '4', '--seconds', $rounds * 8 + 8 ],
	'>', \$load_out, '2>', \$load_err);

for my $round (1 .. $rounds)
{
	sleep 6;
	my $postmaster = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
	my @children = split ' ', `pgrep -P $postmaster`;
	note "crash $round: kill -9 postmaster and its " . scalar(@children) . ' children';
	# the children first and at once, so that none outlives the postmaster
	kill 'KILL', @children;
	$node->kill9;
	usleep(100_000) while kill 0, $postmaster;
	my $start = time;
	$node->start;
	my @recoveries = (slurp_file($node->logfile) =~ /database system was interrupted/g);
	is(scalar @recoveries, $round, "crash $round: the server recovered");
	note sprintf('crash %d: accepting connections after %d ms', $round, (time - $start) * 1000);
}

$load->finish;
note $load_out, $load_err;
is($load->result(0), 0, 'every acknowledged call is in the ledger as answered, invariants hold');

# leases (1.1): every session that held one is gone now (killed by the
# crash, or ended with the load), so the worker ends every leased hold
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM credit_ledger.hold WHERE state = 'pending' AND lease_pid IS NOT NULL"),
	'the worker ended the leased holds of the sessions the crash killed');

# the worker alone: killed, it comes back
my $worker = "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'credit_ledger%'";
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker) w");
my $old = $node->safe_psql('postgres', $worker);
kill 'KILL', $old;
# the postmaster restarts every backend after it: connections fail meanwhile
my $new = '';
my $killed_at = time;
for (1 .. 300)
{
	$new = eval { $node->safe_psql('postgres', $worker) } // '';
	last if $new ne '' && $new ne $old;
	usleep(100_000);
}
ok($new ne '' && $new ne $old, 'the worker killed alone is back with a new process');
note sprintf('worker back after %d ms', (time - $killed_at) * 1000);
my ($check_out, $check_err) = ('', '');
ok(IPC::Run::run([ '/usr/bin/python3', $load_py, 'check', '--dsn', $dsn ],
		'>', \$check_out, '2>', \$check_err),
	'the ledger checks out after the worker was killed');
note $check_out, $check_err;

$node->stop;
done_testing();
