# Leases (reserve(..., lease => true)): a real client process reserves and
# is killed with SIGKILL (the client, not the server). The hold is released
# by the worker within a few sweep intervals, and worker_status() counts
# it; a hold whose owner lives survives many sweeps, and goes when its
# owner disconnects without settling it.
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

my $interval_ms = 200;
my $node = preloaded_node('lease', "credit_ledger.sweep_interval = ${interval_ms}ms\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION credit_ledger;
	SELECT credit_ledger.grant_credits(1, 1000, 'lease-g1');
});
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';

# the client: reserves a leased hold, says its pid, then idles on its open
# connection until it is killed or its stdin closes (a clean disconnect)
my $client_py = q{
import os, sys, psycopg2
conn = psycopg2.connect(sys.argv[1])
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT hold_id FROM credit_ledger.reserve(1, 100, %s, '1 hour', lease => true)",
            (sys.argv[2],))
print(os.getpid(), cur.fetchone()[0], flush=True)
sys.stdin.read()
};

# start_client(EVENT_ID): (harness, stdin ref, client pid, hold id)
sub start_client
{
	my ($event_id) = @_;
	my ($in, $out) = ('', '');
	my $h = IPC::Run::start([ '/usr/bin/python3', '-c', $client_py, $dsn, $event_id ],
		'<', \$in, '>', \$out, IPC::Run::timeout(60));
	$h->pump until $out =~ /^(\d+) (\d+)\n/;
	return ($h, \$in, $1, $2);
}

sub hold_state
{
	my ($hold) = @_;
	return $node->safe_psql('postgres', "SELECT state FROM credit_ledger.hold WHERE hold_id = $hold");
}

sub holds_expired
{
	return $node->safe_psql('postgres', 'SELECT holds_expired FROM credit_ledger.worker_status()');
}

$node->poll_query_until('postgres',
	'SELECT last_sweep_at IS NOT NULL FROM credit_ledger.worker_status()');

# a client killed with SIGKILL
my $expired_before = holds_expired();
my ($h1, $in1, $pid1, $hold1) = start_client('lease-r1');
is(hold_state($hold1), 'pending', 'the leased hold is pending while its client lives');
kill 'KILL', $pid1;
my $killed_at = time;
$h1->finish;
my $state = '';
for (1 .. 200)
{
	$state = hold_state($hold1);
	last if $state ne 'pending';
	usleep(50_000);
}
my $released_ms = (time - $killed_at) * 1000;
is($state, 'expired', 'the killed client\'s hold is released');
note sprintf('released %d ms after the SIGKILL (sweep_interval %d ms)', $released_ms, $interval_ms);
ok($released_ms < 10 * $interval_ms, 'within a few sweep intervals');
is($node->safe_psql('postgres',
		"SELECT kind || ' ' || description || ' ' || reserved_delta FROM credit_ledger.entry"
		  . " WHERE hold_id = $hold1 AND kind <> 'reserve'"),
	'expire_hold lease ended -100', 'one expire_hold entry says the lease ended');
is(holds_expired() - $expired_before, 1, 'worker_status() counts it');
is($node->safe_psql('postgres', 'SELECT available FROM credit_ledger.balance(1)'), '1000',
	'the credits are available again');

# a client that lives: its lease survives many sweeps
my ($h2, $in2, $pid2, $hold2) = start_client('lease-r2');
my $sweeps = 0;
my $last = $node->safe_psql('postgres', 'SELECT last_sweep_at FROM credit_ledger.worker_status()');
while ($sweeps < 15)
{
	usleep($interval_ms * 500);
	my $now = $node->safe_psql('postgres', 'SELECT last_sweep_at FROM credit_ledger.worker_status()');
	$sweeps++ if $now ne $last;
	$last = $now;
}
is(hold_state($hold2), 'pending', "a live client's lease survives $sweeps sweeps");

# ... and goes when the client disconnects without settling it
$h2->finish;
$node->poll_query_until('postgres',
	"SELECT state = 'expired' FROM credit_ledger.hold WHERE hold_id = $hold2")
  or die 'the disconnected client\'s hold stayed';
pass('a clean disconnect ends the lease too');
is($node->safe_psql('postgres', 'SELECT count(*) FROM credit_ledger.verify()'), '0', 'verify() is empty');

$node->stop;
done_testing();
