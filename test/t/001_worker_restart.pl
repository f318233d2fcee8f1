# The background worker's life on a real server. It waits quietly while its
# database is missing; pending holds survive a server restart and the worker
# comes back to sweep them; SIGTERM to the worker alone brings it back;
# DROP/CREATE EXTENSION under it is survived; turned off, it leaves the
# database so DROP DATABASE works; without shared_preload_libraries
# worker_status() is 55000.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use CreditLedger;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = preloaded_node('worker_restart', qq{
credit_ledger.database = 'ledger'
credit_ledger.sweep_interval = '200ms'
log_line_prefix = '%m %b[%p] '
});

my $worker = "SELECT pid, datname FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper'";

sub log_text { return slurp_file($node->logfile); }
sub worker_errors { my @l = (log_text() =~ /credit_ledger sweeper\[.*(?:ERROR|FATAL)/g); return scalar @l; }
sub restarts { my @l = (log_text() =~ /background worker "credit_ledger sweeper" .* exited/g); return scalar @l; }
sub poll { my ($db, $query) = @_; return $node->poll_query_until($db, $query); }
sub run { my ($db, $query) = @_; return $node->safe_psql($db, $query); }

# 1. no database yet: the worker waits without errors or restarts
sleep 2;
is(run('postgres', "SELECT count(*) = 1 FROM ($worker) w WHERE datname IS NULL"), 't',
	'worker waits for its database');
is(worker_errors(), 0, 'no errors while the database is missing');
is(restarts(), 0, 'no restarts while the database is missing');

# 2. the database appears: the worker connects and waits for the extension
run('postgres', 'CREATE DATABASE ledger');
poll('postgres', "SELECT count(*) = 1 FROM ($worker) w WHERE datname = 'ledger'");
is(run('postgres', "SELECT datname FROM ($worker) w"), 'ledger', 'worker connects to the new database');
sleep 1;
is(worker_errors(), 0, 'it waits quietly for the extension');

# 3. pending holds survive a restart; the worker comes back and sweeps them
run('ledger', 'CREATE EXTENSION credit_ledger');
run('ledger', q{SELECT credit_ledger.grant_credits(1, 100, 'g1');
	SELECT credit_ledger.reserve(1, 10, 'short', '4 seconds');
	SELECT credit_ledger.reserve(1, 20, 'long', '1 hour')});
$node->restart;
my $states = "SELECT string_agg(state, '|' ORDER BY hold_id) FROM credit_ledger.hold";
is(run('ledger', $states), 'pending|pending', 'holds survive the restart');
poll('ledger', "SELECT state = 'expired' FROM credit_ledger.hold WHERE event_id = 'short'");
is(run('ledger', $states), 'expired|pending', 'the worker expires the due hold after the restart');
is(run('ledger', 'SELECT database, holds_expired = 1, last_error IS NULL FROM credit_ledger.worker_status()'),
	'ledger|t|t', 'worker_status counts it');
is(run('ledger', 'SELECT * FROM credit_ledger.verify()'), '', 'entries stay consistent');

# 4. SIGTERM to the worker alone: it comes back, nothing else restarts
my $started = run('ledger', 'SELECT pg_postmaster_start_time()');
my $old_pid = run('ledger', "SELECT pid FROM ($worker) w");
kill 'TERM', $old_pid;
poll('ledger', "SELECT count(*) = 1 FROM ($worker) w WHERE pid <> $old_pid");
run('ledger', q{SELECT credit_ledger.reserve(1, 5, 'after-kill', '1 second')});
poll('ledger', "SELECT state = 'expired' FROM credit_ledger.hold WHERE event_id = 'after-kill'");
is(run('ledger', "SELECT state FROM credit_ledger.hold WHERE event_id = 'after-kill'"), 'expired',
	'a new worker sweeps after SIGTERM');
is(run('ledger', 'SELECT pg_postmaster_start_time()'), $started, 'the server itself did not restart');

# 5. DROP EXTENSION / CREATE EXTENSION under the running worker
my $pid = run('ledger', "SELECT pid FROM ($worker) w");
my $errors = worker_errors();
run('ledger', 'DROP EXTENSION credit_ledger');
sleep 1;
run('ledger', 'CREATE EXTENSION credit_ledger');
run('ledger', q{SELECT credit_ledger.grant_credits(2, 100, 'g2');
	SELECT credit_ledger.reserve(2, 10, 'after-recreate', '1 second')});
poll('ledger', "SELECT state = 'expired' FROM credit_ledger.hold WHERE event_id = 'after-recreate'");
is(run('ledger', "SELECT state FROM credit_ledger.hold WHERE event_id = 'after-recreate'"), 'expired',
	'the worker sweeps the recreated extension');
is(run('ledger', "SELECT pid FROM ($worker) w") . '|' . worker_errors(), "$pid|$errors",
	'the same worker, without errors');

# 6. turned off, the worker leaves the database: DROP DATABASE works
run('postgres', 'ALTER SYSTEM SET credit_ledger.sweeper_enabled = off');
run('postgres', 'SELECT pg_reload_conf()');
poll('postgres', "SELECT count(*) = 1 FROM ($worker) w WHERE datname IS NULL");
run('postgres', 'DROP DATABASE ledger');
is(run('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'ledger'"), '0',
	'DROP DATABASE after disabling the sweeper');
my $restarts_before = restarts();
run('postgres', 'ALTER SYSTEM RESET credit_ledger.sweeper_enabled');
run('postgres', 'SELECT pg_reload_conf()');
sleep 2;
is(restarts() . '|' . worker_errors(), "$restarts_before|$errors",
	'enabled again without its database, it waits quietly');

# 7. without shared_preload_libraries: no worker, worker_status() is 55000
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
run('postgres', 'CREATE EXTENSION credit_ledger');
is(run('postgres', "SELECT count(*) FROM ($worker) w"), '0', 'no worker without preloading');
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'\set VERBOSITY sqlstate' . "\n" . 'SELECT credit_ledger.worker_status()');
like($stderr, qr/55000/, 'worker_status() without preloading');

$node->stop;
done_testing();
