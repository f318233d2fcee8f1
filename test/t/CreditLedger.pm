# CreditLedger: what the TAP tests of test/t share.
package CreditLedger;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(preloaded_node);

# preloaded_node(NAME, CONF, INIT_PARAMS...): a started PostgreSQL::Test::Cluster
# with credit_ledger in shared_preload_libraries and the lines of CONF added
sub preloaded_node
{
	my ($name, $conf, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init(%init);
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'credit_ledger'\n" . ($conf // ''));
	$node->start;
	return $node;
}

1;
