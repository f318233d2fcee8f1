# A hot standby of a ledger. Reading works there (balance, history,
# consumption, verify, the views, credits that arrived since the last
# write); every function that writes is 25006 with a DETAIL, never XX000;
# no worker runs until promotion.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use CreditLedger;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = preloaded_node('primary', qq{
credit_ledger.sweep_interval = '200ms'
}, allows_streaming => 1);
$primary->safe_psql('postgres', q{CREATE EXTENSION credit_ledger;
	SELECT credit_ledger.grant_credits(1, 100, 'g1');
	SELECT credit_ledger.deduct(1, 10, 'd1');
	SELECT credit_ledger.reserve(1, 5, 'h1', '1 hour')});

# the standby: a base backup of the primary, streaming from it
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

sub run { return $standby->safe_psql('postgres', $_[0]); }
my $worker = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper'";

is(run(q{SELECT balance || '|' || reserved || '|' || available FROM credit_ledger.balance(1)}),
	'90|5|85', 'the standby reads balances');
is(run(q{SELECT (SELECT count(*) FROM credit_ledger.history(1)) || '|' ||
		(SELECT credits FROM credit_ledger.consumption(1)) || '|' ||
		(SELECT count(*) FROM credit_ledger.verify()) || '|' ||
		(SELECT count(*) FROM credit_ledger.pending_holds)}),
	'3|10|0|1', 'and history, consumption, verify, views');
for my $call ("credit_ledger.deduct(1, 1, 'd2')", "credit_ledger.deduct(1, 10, 'd1')",
	"credit_ledger.grant_credits(1, 1, 'g2')", "credit_ledger.grant_credits(2, 1, 'g3')",
	"credit_ledger.reserve(1, 1, 'h2')", 'credit_ledger.confirm(1, 1)', 'credit_ledger.cancel(1, 1)',
	"credit_ledger.refund(1, 'r1', 'd1')", "credit_ledger.adjust(1, 1, 'a1', 'fix')",
	"credit_ledger.set_status(1, 'frozen')", 'credit_ledger.set_credit_limit(1, 10)',
	'credit_ledger.open_account(3)', 'credit_ledger.sweep()')
{
	my ($ret, $out, $err) = $standby->psql('postgres',
		"\\set VERBOSITY sqlstate\nSELECT $call");
	like($err, qr/ERROR:  25006$/m, "$call on the standby");
}
my ($ret, $out, $err) = $standby->psql('postgres', "SELECT credit_ledger.deduct(1, 1, 'd2')");
like($err, qr/DETAIL:.*hot standby/, 'the refusal says why');
is(run($worker), '0', 'no worker runs on the standby');

# 1.1: credits that arrive later count on the standby from their instant on,
# computed there (nothing can be written there). The primary's worker is
# off meanwhile (ALTER SYSTEM is not replicated), and the instants are moved
# back by an hour, as if the month and the hour had passed.
$primary->safe_psql('postgres', q{ALTER SYSTEM SET credit_ledger.sweeper_enabled = off;
	SELECT pg_reload_conf()});
$primary->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper' AND datname IS NOT NULL");
$primary->safe_psql('postgres', q{
	SELECT credit_ledger.set_allowance(4, 'pro', 500, 'month', 100);
	SELECT credit_ledger.deduct(4, 450, 'd4');
	SELECT credit_ledger.grant_credits(5, 70, 'g5', effective_at => now() + interval '1 hour');
	BEGIN;  -- one now(): the period's end and the next period's start stay one instant
	UPDATE credit_ledger.bucket SET expires_at = now() - interval '1 minute' WHERE account_id = 4;
	UPDATE credit_ledger.allowance SET next_issue_at = now() - interval '1 minute' WHERE account_id = 4;
	UPDATE credit_ledger.bucket SET effective_at = now() - interval '1 minute' WHERE account_id = 5;
	UPDATE credit_ledger.account SET next_expiry_at = now() - interval '1 minute' WHERE account_id IN (4, 5);
	COMMIT});
$primary->wait_for_catchup($standby);
is(run(q{SELECT string_agg(balance::text, '|' ORDER BY account_id) FROM credit_ledger.accounts
		WHERE account_id IN (4, 5)}),
	'550|70', 'the standby counts a new allowance period (500 + 50 rolled over) and a grant now effective');
is(run(q{SELECT count(*) FROM credit_ledger.entry WHERE account_id IN (4, 5)}), '3',
	'... that nothing has written yet');
$primary->safe_psql('postgres', q{ALTER SYSTEM RESET credit_ledger.sweeper_enabled; SELECT pg_reload_conf()});

# promoted, it takes money calls and its worker starts
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
is(run(q{SELECT balance FROM credit_ledger.deduct(1, 5, 'd3')}), '85', 'after promotion a deduct works');
$standby->poll_query_until('postgres', "SELECT ($worker) = 1");
is(run($worker), '1', 'and the worker runs');
is(run('SELECT * FROM credit_ledger.verify()'), '', 'the ledger is consistent');

$standby->stop;
$primary->stop;
done_testing();
