# The worker connects as the bootstrap superuser to a database that a
# non-superuser may own. The owner puts operators of its own before
# pg_catalog's (ALTER DATABASE ... SET search_path) that record who runs
# them; the worker sweeps without ever calling them, because it pins
# search_path = pg_catalog, pg_temp (and default_transaction_read_only off)
# before its first statement.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use CreditLedger;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = preloaded_node('hostile_owner', qq{
credit_ledger.database = 'owned'
credit_ledger.sweep_interval = '200ms'
});

sub run { my ($db, $query) = @_; return $node->safe_psql($db, $query); }
sub as_owner { return $node->safe_psql('owned', $_[0], extra_params => [ '-U', 'mallory' ]); }
sub evil_runs { my @l = (slurp_file($node->logfile) =~ /WARNING:  evil operator .* run by/g); return scalar @l; }
sub wait_for
{
	my ($query) = @_;
	$node->poll_query_until('owned', $query) or diag "timed out waiting for: $query";
}

run('postgres', 'CREATE ROLE mallory LOGIN');
run('postgres', 'CREATE DATABASE owned OWNER mallory');
run('owned', 'CREATE EXTENSION credit_ledger');

# an operator of the owner's that logs who runs it
sub evil_op
{
	my ($name, $type, $op) = @_;
	return qq{CREATE FUNCTION evil.$name($type, $type) RETURNS bool LANGUAGE plpgsql AS
		\$\$ BEGIN RAISE WARNING 'evil operator $op run by %', current_user;
		RETURN \$1 OPERATOR(pg_catalog.$op) \$2; END \$\$;
	CREATE OPERATOR evil.$op (LEFTARG = $type, RIGHTARG = $type, FUNCTION = evil.$name);};
}
as_owner('CREATE SCHEMA evil; '
	  . evil_op('oideq', 'oid', '=')
	  . evil_op('texteq', 'text', '=')
	  . evil_op('int8eq', 'bigint', '=')
	  . evil_op('int4eq', 'integer', '=')
	  . evil_op('tsle', 'timestamptz', '<=')
	  . ' ALTER DATABASE owned SET search_path = evil, pg_catalog');
is(as_owner('SELECT 1::oid = 1::oid') . '|' . evil_runs(), 't|1',
	"the owner's operators run when a session uses them");

# the worker's next connection takes the database's settings
sub sweep_due
{
	my ($account) = @_;
	run('owned', qq{BEGIN READ WRITE;
		SELECT credit_ledger.grant_credits($account, 100, 'g$account', expires_at => now() + interval '2 seconds');
		SELECT credit_ledger.reserve($account, 10, 'h$account', '1 second');
		COMMIT});
	run('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'credit_ledger sweeper'});
	wait_for(q{SELECT count(*) OPERATOR(pg_catalog.=) 0 FROM credit_ledger.hold
		WHERE state OPERATOR(pg_catalog.=) 'pending'});
	wait_for(q{SELECT count(*) OPERATOR(pg_catalog.=) 0 FROM credit_ledger.bucket WHERE live});
	return run('owned', qq{SELECT (SELECT string_agg(state, ',') FROM credit_ledger.hold
			WHERE account_id OPERATOR(pg_catalog.=) $account) || '|' ||
		(SELECT count(*) FROM credit_ledger.bucket WHERE live)});
}
is(sweep_due(1), 'expired|0', 'the worker swept the due hold and grant');
is(evil_runs(), 1, "it ran none of the owner's operators");

# nor can the owner make the worker's transactions read-only
as_owner('ALTER DATABASE owned SET default_transaction_read_only = on');
is(sweep_due(2), 'expired|0', 'the worker sweeps under default_transaction_read_only = on');
is(run('owned', 'SELECT last_error IS NULL FROM credit_ledger.worker_status()'), 't',
	'without an error to report');
is(evil_runs(), 1, "and still without the owner's operators");
is(run('owned', 'SELECT * FROM credit_ledger.verify()'), '', 'the ledger is consistent');

$node->stop;
done_testing();
