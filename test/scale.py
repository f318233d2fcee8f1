#!/usr/bin/env python3
"""scale.py: the checks of test/scale.sh on a router and its shards.

The router's API against the extension's (README Reference), PL/Proxy's
errors, routing, orders, events, reference data by logical replication, and
a concurrent load through the router while a shard is killed and restarted.
Prints "ok - ..." / "not ok - ..." and ends with "N passed, M failed".
"""
import argparse
import os
import random
import re
import signal
import subprocess
import threading
import time

import psycopg2

passed = 0
failed = 0


def check(what, ok, detail=''):
    global passed, failed
    if ok:
        passed += 1
        print(f'ok - {what}')
    else:
        failed += 1
        print(f'not ok - {what}: {detail}')


def connect(dsn):
    c = psycopg2.connect(dsn)
    c.autocommit = True
    return c


def rows(conn, query, params=None):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def wait_until(what, predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    check(f'{what} within {timeout} s', False, 'timed out')
    return False


def public_functions(readme):
    """The function names of the README's Reference table."""
    text = open(readme).read()
    table = text.split('### Functions', 1)[1].split('\n\n', 2)[1]
    return sorted({m.group(1) for m in re.finditer(r'^\| `(\w+)\(', table, re.M)})


SIGNATURE = """
SELECT pg_get_function_arguments(p.oid), pg_get_function_result(p.oid)
FROM pg_proc p WHERE p.pronamespace = 'credit_ledger'::regnamespace AND p.proname = %s
ORDER BY 1"""
COLUMNS = """
SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
WHERE t.oid = %s::regtype AND a.attnum > 0 AND NOT a.attisdropped"""


def check_api(router, shard, readme):
    names = public_functions(readme)
    check(f'README lists {len(names)} functions', len(names) >= 25, names)
    for name in names:
        mine, theirs = rows(router, SIGNATURE, (name,)), rows(shard, SIGNATURE, (name,))
        if name == 'worker_status':
            # documented: one row per shard
            theirs = [(a, 'SETOF ' + r) for a, r in theirs]
        check(f'router {name}: same arguments, defaults and result', mine == theirs,
              f'{mine} vs {theirs}')
        for _, result in theirs:
            typ = result.replace('SETOF ', '')
            if typ.startswith('credit_ledger.'):
                check(f'router {name}: result type {typ} has the same columns',
                      rows(router, COLUMNS, (typ,)) == rows(shard, COLUMNS, (typ,)))
    for view in ('accounts', 'entries', 'pending_holds', 'expiring_grants', 'events',
                 'products', 'orders', 'allowances'):
        cols = rows(shard, COLUMNS, (f'credit_ledger.{view}',))
        mine = rows(router, f'SELECT pg_get_function_result(\'credit_ledger.{view}()\'::regprocedure)')
        check(f'router {view}() returns SETOF the view\'s columns',
              mine == [(f'SETOF credit_ledger.{view}',)] and
              rows(router, COLUMNS, (f'credit_ledger.{view}',)) == cols)


def error_of(conn, query):
    try:
        rows(conn, query)
        return None
    except psycopg2.Error as e:
        return (e.pgcode, e.diag.message_primary, e.diag.message_detail)


def check_errors(router, shards, shard_of):
    a = 1
    s = shards[shard_of[a]]
    rows(router, "SELECT * FROM credit_ledger.grant_credits(1, 100, 'err-grant')")
    cases = [
        ('LD001', f"SELECT * FROM credit_ledger.deduct({a}, 1000000000000, 'err-too-much')", s),
        ('LD002', "SELECT * FROM credit_ledger.balance(999999)", shards[shard_of[999999]]),
        ('LD004', f"SELECT * FROM credit_ledger.deduct({a}, 5, 'err-grant')", s),
        ('22023', f"SELECT * FROM credit_ledger.deduct({a}, 0, 'err-zero')", s),
        ('22023', f"SELECT * FROM credit_ledger.history({a}, -1)", s),
        ('22004', "SELECT * FROM credit_ledger.deduct(NULL, 5, 'err-null')", shards[0]),
        ('LD011', "SELECT * FROM credit_ledger.pay_order('no-such-order', 'p', 1, 'USD')", shards[0]),
        ('LD007', "SELECT * FROM credit_ledger.resolve_price('no', 'such', 'rule', '2026-01-01 00:00+00')", s),
    ]
    for code, query, shard in cases:
        got, direct = error_of(router, query), error_of(shard, query)
        check(f'{code} through the router: the shard\'s SQLSTATE', got and direct and
              got[0] == direct[0] == code, f'{got} vs {direct}')
        check(f'{code} through the router: DETAIL is "Remote detail: " + the shard\'s',
              got and direct and got[2] == 'Remote detail: ' + direct[2], f'{got} vs {direct}')
        check(f'{code} through the router: message ends with "REMOTE ERROR: " + the shard\'s',
              got and direct and got[1].endswith('REMOTE ERROR: ' + direct[1]), f'{got} vs {direct}')
    rows(router, 'SELECT * FROM credit_ledger.balance(1)')
    check('after a remote error PL/Proxy drops that connection (NOTICE on the next call)',
          any('dropping stale conn' in n for n in router.notices), router.notices[-3:])


def check_routing(router, shards, shard_of, accounts):
    for a in accounts:
        rows(router, 'SELECT * FROM credit_ledger.grant_credits(%s, 10000000, %s)', (a, f'seed-{a}'))
    for a in accounts:
        where = [i for i, s in enumerate(shards)
                 if rows(s, 'SELECT 1 FROM credit_ledger.account WHERE account_id = %s', (a,))]
        check(f'account {a} lives on shard hashint8({a}) & 3 = {shard_of[a]} only',
              where == [shard_of[a]], where)
    per_shard = {shard_of[a] for a in accounts}
    check('the accounts spread over every shard', per_shard == set(range(len(shards))), per_shard)
    merged = rows(router, 'SELECT account_id FROM credit_ledger.accounts() ORDER BY 1')
    direct = sorted(r for s in shards for r in rows(s, 'SELECT account_id FROM credit_ledger.accounts'))
    check('accounts() merges every shard\'s accounts', merged == direct)
    check('balance() through the router reads the account\'s shard',
          rows(router, 'SELECT balance FROM credit_ledger.balance(%s)', (accounts[-1],)) ==
          rows(shards[shard_of[accounts[-1]]], 'SELECT balance FROM credit_ledger.balance(%s)',
               (accounts[-1],)))


def check_batches(router, shards, shard_of, accounts):
    """A batch through the router: split by shard, every item numbered back
    to its place, each applied item on its account's shard, a refused one
    nowhere; sent again, every applied item replays."""
    ids = accounts[::-1] + [999999, None]
    amounts = [1] * len(accounts) + [1, 1]
    events = [f'batch-{i}' for i in range(len(ids))]
    query = 'SELECT item, sqlstate, account_id, entry_id, replayed FROM credit_ledger.deduct_many(%s, %s, %s)'
    got = rows(router, query, (ids, amounts, events))
    check('a batch through the router answers each item once, in item order',
          [r[0] for r in got] == list(range(1, len(ids) + 1)), [r[0] for r in got])
    check('its items answer for their own accounts', [r[2] for r in got] == ids, [r[2] for r in got])
    check('applied, then an unknown account (LD002) and a NULL one (22004)',
          [r[1] for r in got] == ['00000'] * len(accounts) + ['LD002', '22004'], [r[1] for r in got])
    misplaced = [(a, e) for (_, state, a, entry, _), e in zip(got, events) if state == '00000' and
                 rows(shards[shard_of[a]], 'SELECT entry_id FROM credit_ledger.entry'
                      ' WHERE account_id = %s AND event_id = %s', (a, e)) != [(entry,)]]
    check('each applied item is its account\'s entry on its shard', not misplaced, misplaced)
    again = rows(router, query, (ids, amounts, events))
    check('the same batch again: every applied item replayed with its entry',
          [(r[3], r[4]) for r in again[:len(accounts)]] == [(r[3], True) for r in got[:len(accounts)]])
    check('unequal arrays through the router: the shard\'s 22023',
          (error_of(router, f"SELECT * FROM credit_ledger.deduct_many('{{1,2}}', '{{1}}', '{{a,b}}')")
           or ('',))[0] == '22023')


def check_reference(router, config, shards, one_per_shard):
    rows(config, """INSERT INTO credit_ledger.price_rule (scene, input_price, output_price,
        cached_price, reasoning_price) VALUES ('scale', 1000000, 0, 0, 0)""")
    rows(config, "INSERT INTO credit_ledger.reward_rule (source, amount) VALUES ('scale-signup', 7)")
    rows(config, """INSERT INTO credit_ledger.product (sku, name, credits, price_minor, currency)
        VALUES ('scale-pack', 'Scale pack', 500, 499, 'USD')""")

    def everywhere(query, want):
        return all(rows(s, query) == want for s in shards)

    wait_until('rules and products reach every shard', lambda: everywhere(
        "SELECT (SELECT input_price FROM credit_ledger.price_rule WHERE scene = 'scale'),"
        " (SELECT amount FROM credit_ledger.reward_rule WHERE source = 'scale-signup'),"
        " (SELECT credits FROM credit_ledger.product WHERE sku = 'scale-pack')",
        [(1000000, 7, 500)]))
    # one router session: PL/Proxy keeps its connections to the shards, so
    # each shard's session has the rules cached when the price changes
    before = [rows(router, "SELECT amount FROM credit_ledger.charge(%s, %s, 'scale', 'p', 'm', 5)",
                   (a, f'price-before-{a}'))[0][0] for a in one_per_shard]
    check('charges on every shard use the replicated rule (5 tokens x 1 credit)', before == [5] * 4,
          before)
    rows(config, "UPDATE credit_ledger.price_rule SET input_price = 3000000 WHERE scene = 'scale'")
    wait_until('the price change reaches every shard', lambda: everywhere(
        "SELECT input_price FROM credit_ledger.price_rule WHERE scene = 'scale'", [(3000000,)]))
    after = [rows(router, "SELECT amount FROM credit_ledger.charge(%s, %s, 'scale', 'p', 'm', 5)",
                  (a, f'price-after-{a}'))[0][0] for a in one_per_shard]
    check('the next charge on every shard, in the same sessions, uses the new price', after == [15] * 4,
          after)
    check('quote through the router: the new price',
          rows(router, "SELECT credit_ledger.quote('scale', 'p', 'm', 5)") == [(15,)])
    # a catalog imported through the router lands on the config database and
    # reaches every shard: 2e-06 USD per token x 1000 credits per USD = 2000
    # credits per million tokens, so a million input tokens cost 2000
    written = rows(router, """SELECT credit_ledger.import_prices('{"scale-imported":
        {"litellm_provider": "p", "input_cost_per_token": 2e-06, "output_cost_per_token": 2e-06}}', 1000)""")
    check('import_prices through the router writes the rule on the config database',
          written == [(1,)] and rows(config, "SELECT input_price FROM credit_ledger.price_rule"
                                     " WHERE model = 'scale-imported'") == [(2000,)], written)
    wait_until('the imported rule reaches every shard', lambda: everywhere(
        "SELECT input_price FROM credit_ledger.price_rule WHERE model = 'scale-imported'", [(2000,)]))
    imported = [rows(router, "SELECT amount FROM credit_ledger.charge_usage(%s, %s, 'scale', 'p',"
                     " 'scale-imported', '{\"input_tokens\": 1000000, \"output_tokens\": 0}')",
                     (a, f'imported-{a}'))[0][0] for a in one_per_shard]
    check('charge_usage through the router on every shard uses the imported rule', imported == [2000] * 4,
          imported)
    got = rows(router, "SELECT amount FROM credit_ledger.reward(%s, 'scale-signup', 'rw-1')",
               (one_per_shard[2],))
    check('reward through the router uses the replicated reward rule', got == [(7,)], got)
    check('products() through the router lists the replicated product',
          ('scale-pack',) in rows(router, 'SELECT sku FROM credit_ledger.products()'))


def check_orders(router, shards, shard_of, account):
    s = shards[shard_of[account]]
    created = rows(router, "SELECT status, credits FROM credit_ledger.create_order(%s, 'scale-pack', 2, 'ord-scale-1')",
                   (account,))
    check('create_order through the router', created == [('pending', 1000)], created)
    check('the order is on the account\'s shard only', [
        len(rows(x, "SELECT 1 FROM credit_ledger.orders WHERE order_no = 'ord-scale-1'")) for x in shards]
        == [1 if i == shard_of[account] else 0 for i in range(len(shards))])
    paid = rows(router, "SELECT status, grant_entry_id IS NOT NULL FROM credit_ledger.pay_order('ord-scale-1', 'pay-1', 998, 'USD')")
    check('pay_order through the router pays it on its shard', paid == [('paid', True)], paid)
    again = rows(router, "SELECT status FROM credit_ledger.pay_order('ord-scale-1', 'pay-1', 998, 'USD')")
    check('pay_order again with the same payment_ref replays', again == [('paid',)], again)
    check('the grant is in the account\'s ledger once',
          rows(s, "SELECT count(*) FROM credit_ledger.entries WHERE event_id = 'order:ord-scale-1'") == [(1,)])
    wrong = error_of(router, "SELECT * FROM credit_ledger.pay_order('ord-scale-1', 'pay-2', 998, 'USD')")
    check('another payment of a paid order: LD011 from its shard', wrong and wrong[0] == 'LD011', wrong)
    refunded = rows(router, "SELECT amount FROM credit_ledger.refund_order('ord-scale-1', 'ord-refund-1')")
    check('refund_order through the router takes the credits back on its shard', refunded == [(1000,)],
          refunded)
    rows(router, "SELECT * FROM credit_ledger.create_order(%s, 'scale-pack', 1, 'ord-scale-2')", (account,))
    cancelled = rows(router, "SELECT status FROM credit_ledger.cancel_order('ord-scale-2')")
    check('cancel_order through the router', cancelled == [('cancelled',)], cancelled)
    check('orders() merges the shards\' orders',
          rows(router, "SELECT order_no, status FROM credit_ledger.orders() WHERE order_no LIKE 'ord-scale-%%' ORDER BY 1")
          == [('ord-scale-1', 'refunded'), ('ord-scale-2', 'cancelled')])


def check_events(router, shards, shard_of):
    total = sum(rows(s, 'SELECT count(*) FROM credit_ledger.events')[0][0] for s in shards)
    got = rows(router, "SELECT event_seq, account_id FROM credit_ledger.poll_events('scale-consumer', 10000)")
    check(f'poll_events through the router gives every shard\'s events ({total})', len(got) == total,
          len(got))
    check('the router\'s event_seq names its shard (event_seq % 4 = the account\'s shard)',
          all(seq % 4 == shard_of[a] for seq, a in got))
    check('the router\'s event_seqs are distinct', len({seq for seq, _ in got}) == len(got))
    check('events() gives the same numbering', sorted(got) == sorted(rows(
        router, 'SELECT event_seq, account_id FROM credit_ledger.events()')))
    again = rows(router, "SELECT event_seq FROM credit_ledger.poll_events('scale-consumer', 10000)")
    check('unacknowledged, the same events come again', len(again) == total)
    last = {}
    for seq, _ in got:
        last[seq % 4] = max(last.get(seq % 4, 0), seq)
    for shard, seq in sorted(last.items())[:-1]:
        rows(router, "SELECT credit_ledger.ack_events('scale-consumer', %s)", (seq,))
    left = rows(router, "SELECT event_seq % 4 FROM credit_ledger.poll_events('scale-consumer', 10000)")
    kept = sorted(last)[-1]
    check('ack_events acknowledges on the event\'s shard only', {s for (s,) in left} == {kept}, left)
    rows(router, "SELECT credit_ledger.ack_events('scale-consumer', %s)", (last[kept],))
    check('acknowledged on every shard, nothing is polled again',
          rows(router, "SELECT count(*) FROM credit_ledger.poll_events('scale-consumer', 10000)") == [(0,)])


def check_housekeeping(router, shards):
    check('sweep() through the router: one summed row',
          len(rows(router, 'SELECT * FROM credit_ledger.sweep()')) == 1)
    q = 'SELECT pid IS NOT NULL, database, last_error FROM credit_ledger.worker_status()'
    # each worker starts again connected to its database once the extension exists
    wait_until('every shard\'s worker runs', lambda: rows(router, q) == [(True, 'postgres', None)] * len(shards))
    got = rows(router, q)
    check('worker_status() through the router: a running worker per shard',
          got == [(True, 'postgres', None)] * len(shards), got)


# ---- transfers between shards: the saga ----

def conservation(shards):
    """Over all shards: the balances, what the entries other than transfers
    add up to (grants, charges, expiries...), the credits that entered by
    transfer_in and left by transfer_out, the sagas still held."""
    got = [0, 0, 0, 0, 0]
    for s in shards:
        r = rows(s, """SELECT (SELECT coalesce(sum(balance), 0) FROM credit_ledger.account),
                              (SELECT coalesce(sum(amount), 0) FROM credit_ledger.entry
                               WHERE kind NOT IN ('transfer_in', 'transfer_out')),
                              (SELECT coalesce(sum(amount), 0) FROM credit_ledger.entry WHERE kind = 'transfer_in'),
                              (SELECT coalesce(-sum(amount), 0) FROM credit_ledger.entry WHERE kind = 'transfer_out'),
                              (SELECT count(*) FROM credit_ledger.transfer_leg WHERE state = 'held')""")[0]
        got = [g + int(x) for g, x in zip(got, r)]
    return got


def check_conserved(what, shards):
    balance, others, moved_in, moved_out, held = conservation(shards)
    check(f'{what}: no saga left held ({held})', held == 0)
    check(f'{what}: credits moved in = credits moved out over all shards ({moved_in})',
          moved_in == moved_out, (moved_in, moved_out))
    check(f'{what}: total balance over all shards = grants - consumption ({balance})',
          balance == others, (balance, others))


def pair_across(shard_of, accounts, a_shard=None):
    """Two accounts on two shards (the sender on a_shard when given)."""
    for a in accounts:
        for b in accounts:
            if shard_of[a] != shard_of[b] and (a_shard is None or shard_of[a] == a_shard):
                return a, b
    raise AssertionError('no two shards')


TRANSFER = 'SELECT * FROM credit_ledger.transfer(%s, %s, %s, %s)'


def legs(shards, event_id):
    return sorted(r for s in shards for r in rows(
        s, 'SELECT side, state FROM credit_ledger.transfer_leg WHERE event_id = %s', (event_id,)))


def check_transfers(router_dsn, shards, shard_of, accounts):
    router = connect(router_dsn)
    a, b = pair_across(shard_of, accounts, 0)
    sa, sb = shards[shard_of[a]], shards[shard_of[b]]

    before = rows(router, 'SELECT (SELECT available FROM credit_ledger.balance(%s)),'
                          ' (SELECT available FROM credit_ledger.balance(%s))', (a, b))[0]
    got = rows(router, TRANSFER, (a, b, 100, 'tx-1'))
    out_id, in_id, from_bal, from_av, to_bal, to_av, replayed = got[0]
    check('transfer across shards through the router: the sender and receiver figures',
          (from_av, to_av, replayed) == (before[0] - 100, before[1] + 100, False), (got, before))
    check('the sender\'s transfer_out is on its shard, the receiver\'s transfer_in on its own',
          rows(sa, 'SELECT kind, amount, ref_entry_id FROM credit_ledger.entry WHERE account_id = %s AND entry_id = %s',
               (a, out_id)) == [('transfer_out', -100, in_id)] and
          rows(sb, 'SELECT kind, amount FROM credit_ledger.entry WHERE account_id = %s AND entry_id = %s',
               (b, in_id)) == [('transfer_in', 100)])
    check('its legs: settled on the sender\'s shard, received on the receiver\'s',
          legs(shards, 'tx-1') == [('in', 'received'), ('out', 'settled')], legs(shards, 'tx-1'))
    again = rows(router, TRANSFER, (a, b, 100, 'tx-1'))
    check('the same transfer again: the first answer, replayed', again == [got[0][:6] + (True,)], (again, got))
    conflict = error_of(router, TRANSFER % (a, b, 101, "'tx-1'"))
    check('the key for another amount: LD004', conflict and conflict[0] == 'LD004', conflict)
    too_much = error_of(router, TRANSFER % (a, b, 10 ** 12, "'tx-2'"))
    check('more than the sender holds: LD001 from its shard, nothing held', too_much and too_much[0] == 'LD001'
          and legs(shards, 'tx-2') == [], too_much)

    # a receiver that does not exist: the saga undone, the receiver's error passed through
    missing = next(x for x in range(900000, 901000) if shard_of.get(x, None) is None and
                   rows(router, 'SELECT hashint8(%s::bigint) & 3', (x,))[0][0] != shard_of[a])
    av = rows(router, 'SELECT available FROM credit_ledger.balance(%s)', (a,))[0][0]
    refused = error_of(router, TRANSFER % (a, missing, 50, "'tx-3'"))
    check('a receiver missing on its shard: LD002 with the shard\'s message and DETAIL',
          refused == ('LD002', 'account not found', f'Account {missing} does not exist.'), refused)
    check('... the saga undone: the sender\'s hold released, its leg undone, the refusal kept once',
          rows(router, 'SELECT available FROM credit_ledger.balance(%s)', (a,))[0][0] == av and
          legs(shards, 'tx-3') == [('in', 'refused'), ('out', 'undone')], legs(shards, 'tx-3'))
    rows(router, 'SELECT credit_ledger.open_account(%s)', (missing,))
    check('... a retry under the key gets the same refusal, even once the receiver exists',
          error_of(router, TRANSFER % (a, missing, 50, "'tx-3'")) == refused and
          rows(router, 'SELECT balance FROM credit_ledger.balance(%s)', (missing,)) == [(0,)])

    # a router crash after step 1: the retry finishes it
    hold = rows(sa, "SELECT state, part_amounts, part_sources, part_priorities, part_expires_at"
                    " FROM credit_ledger.transfer_hold(%s, %s, 30, 'tx-4')", (a, b))[0]
    check('crash after step 1: the hold alone, on the sender\'s shard', hold[0] == 'held' and
          legs(shards, 'tx-4') == [('out', 'held')], hold)
    check('... verify() is empty on both shards with the saga in flight',
          rows(sa, 'SELECT count(*) FROM credit_ledger.verify()') == [(0,)] and
          rows(sb, 'SELECT count(*) FROM credit_ledger.verify()') == [(0,)])
    retry = rows(router, TRANSFER, (a, b, 30, 'tx-4'))
    check('... a retry of the transfer finishes it: replayed, both entries',
          retry[0][6] is True and retry[0][0] and retry[0][1] and
          legs(shards, 'tx-4') == [('in', 'received'), ('out', 'settled')], (retry, legs(shards, 'tx-4')))

    # a router crash after step 2: resume_transfers() finishes it
    hold = rows(sa, "SELECT part_amounts, part_sources, part_priorities, part_expires_at"
                    " FROM credit_ledger.transfer_hold(%s, %s, 40, 'tx-5')", (a, b))[0]
    recv = rows(sb, "SELECT state, in_entry_id FROM credit_ledger.transfer_receive(%s, %s, 'tx-5', 40, %s, %s, %s, %s)",
                (b, a) + tuple(hold))[0]
    check('crash after step 2: received on the receiver\'s shard, held on the sender\'s',
          recv[0] == 'received' and legs(shards, 'tx-5') == [('in', 'received'), ('out', 'held')], recv)
    check('... verify() is empty on both shards between steps 2 and 3',
          rows(sa, 'SELECT count(*) FROM credit_ledger.verify()') == [(0,)] and
          rows(sb, 'SELECT count(*) FROM credit_ledger.verify()') == [(0,)])
    # and one whose receiver refuses, for resume to undo
    rows(sa, "SELECT * FROM credit_ledger.transfer_hold(%s, %s, 5, 'tx-6')", (a, missing + 1))
    resumed = rows(router, "SELECT * FROM credit_ledger.resume_transfers('0 seconds')")
    check('... resume_transfers() settles the one and undoes the other (settled, undone, failed)',
          resumed == [(1, 1, 0)], resumed)
    # a saga a router crash left after step 1, for sweep() to finish (it
    # resumes those older than 5 s) at the end of these checks
    started = time.time()
    step = rows(sa, "SELECT state, part_amounts FROM credit_ledger.transfer_hold(%s, %s, 7, 'tx-swept')", (a, b))
    check('a saga begun on the sender\'s shard alone (step 1): held', step == [('held', [7])], step)
    rows(router, 'SELECT * FROM credit_ledger.sweep()')
    check('sweep() leaves a saga younger than 5 s to its router call',
          legs(shards, 'tx-swept') == [('out', 'held')], legs(shards, 'tx-swept'))
    check('... tx-5 settled with the receiver\'s entry, tx-6 undone',
          legs(shards, 'tx-5') == [('in', 'received'), ('out', 'settled')] and
          ('out', 'undone') in legs(shards, 'tx-6'), (legs(shards, 'tx-5'), legs(shards, 'tx-6')))
    retry = rows(router, TRANSFER, (a, b, 40, 'tx-5'))
    check('... and a retry afterwards answers replayed with the entries resume wrote',
          retry[0][6] is True and retry[0][1] == recv[1], (retry, recv))

    # the same transfer from two router sessions at once: one move
    results, errors = [], []

    def send():
        c = connect(router_dsn)
        try:
            results.append(rows(c, TRANSFER, (a, b, 25, 'tx-race'))[0])
        except psycopg2.Error as e:
            errors.append(e.pgcode)
        c.close()
    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    moved = sum(rows(sa, "SELECT count(*) FROM credit_ledger.entry e JOIN credit_ledger.transfer_leg g"
                         " ON g.from_account = e.account_id AND g.out_entry_id = e.entry_id"
                         " WHERE g.event_id = 'tx-race'")[0])
    check('the same transfer from two sessions at once: both answered, one moved, one replayed',
          not errors and len(results) == 2 and sorted(r[6] for r in results) == [False, True]
          and results[0][:2] == results[1][:2] and moved == 1, (results, errors, moved))

    # same shard: still the shard's one-transaction transfer
    c, d = next((x, y) for x in accounts for y in accounts if x != y and shard_of[x] == shard_of[y])
    local = rows(router, TRANSFER, (c, d, 10, 'tx-local'))
    check('a transfer within one shard is that shard\'s transfer (its transfer row, no legs)',
          local and rows(shards[shard_of[c]], "SELECT count(*) FROM credit_ledger.transfer"
                                               " WHERE from_account = %s AND out_entry_id = %s",
                         (c, local[0][0])) == [(1,)] and legs(shards, 'tx-local') == [], local)

    # sweep() finishes the saga left at the start, once it is 5 s old
    time.sleep(max(0.0, started + 5.5 - time.time()))
    rows(router, 'SELECT * FROM credit_ledger.sweep()')
    check('sweep() through the router resumes the saga a crash left after step 1',
          legs(shards, 'tx-swept') == [('in', 'received'), ('out', 'settled')], legs(shards, 'tx-swept'))
    for i, s in enumerate(shards):
        bad = rows(s, 'SELECT * FROM credit_ledger.verify()')
        check(f'after the sagas, shard {i}: verify() is empty', not bad, bad[:3])
    check_conserved('after the sagas', shards)
    router.close()


# ---- the load, and a shard killed under it ----

def kill_tree(data_dir):
    pid = int(open(os.path.join(data_dir, 'data', 'postmaster.pid')).readline())
    kids = subprocess.run(['pgrep', '-P', str(pid)], capture_output=True, text=True).stdout.split()
    for p in [pid] + [int(k) for k in kids]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while True:
        try:
            os.kill(pid, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            return


def restart(data_dir, pg_bin):
    subprocess.run(['runuser', '-u', 'postgres', '--', f'{pg_bin}/pg_ctl', '-D', f'{data_dir}/data',
                    '-l', f'{data_dir}/server.log', '-w', '-t', '60', 'start'],
                   cwd='/', check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Load:
    def __init__(self, dsn, accounts, clients):
        self.dsn, self.accounts, self.clients = dsn, accounts, clients
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = []      # (t, account, event_id, entry_id)
        self.errors = []  # (t, account, sqlstate, message, the accounts the call named)
        self.transfers = 0

    def client(self, n):
        rnd = random.Random(n)
        conn = None
        i = 0
        while not self.stop.is_set():
            i += 1
            a = rnd.choice(self.accounts)
            ev = f'load-{n}-{i}'
            op = rnd.random()
            try:
                if conn is None:
                    conn = connect(self.dsn)
                if op < 0.1:
                    # a transfer to another account, across shards or within one
                    b = rnd.choice([x for x in self.accounts if x != a])
                    try:
                        t = rows(conn, 'SELECT out_entry_id, in_entry_id FROM credit_ledger.transfer(%s, %s, 2, %s)',
                                 (a, b, ev))
                    except psycopg2.Error as e:
                        with self.lock:
                            self.errors.append((time.time(), a, e.pgcode, str(e).strip().splitlines()[0], (a, b)))
                        if conn.closed:
                            conn = None
                        time.sleep(0.01)
                        continue
                    with self.lock:
                        self.ok.append((time.time(), a, None, t[0][0]))
                        self.ok.append((time.time(), b, None, t[0][1]))
                        self.transfers += 1
                    continue
                if op < 0.4:
                    r = rows(conn, 'SELECT entry_id FROM credit_ledger.deduct(%s, 3, %s)', (a, ev))
                elif op < 0.55:
                    r = rows(conn, 'SELECT entry_id FROM credit_ledger.grant_credits(%s, 5, %s)', (a, ev))
                elif op < 0.75:
                    r = rows(conn, "SELECT entry_id FROM credit_ledger.charge(%s, %s, 'scale', 'p', 'm', 2, 1)",
                             (a, ev))
                else:
                    h = rows(conn, 'SELECT entry_id, hold_id FROM credit_ledger.reserve(%s, 4, %s)', (a, ev))
                    with self.lock:
                        self.ok.append((time.time(), a, ev, h[0][0]))
                    settle = ('SELECT entry_id FROM credit_ledger.confirm(%s, %s, 2)' if op < 0.9 else
                              'SELECT entry_id FROM credit_ledger.cancel(%s, %s)')
                    ev += '/settle'
                    r = rows(conn, settle, (a, h[0][1]))
                with self.lock:
                    self.ok.append((time.time(), a, ev if op < 0.75 else None, r[0][0]))
            except psycopg2.Error as e:
                with self.lock:
                    self.errors.append((time.time(), a, e.pgcode, str(e).strip().splitlines()[0], (a,)))
                if conn is not None and conn.closed:
                    conn = None
                time.sleep(0.01)
            except psycopg2.InterfaceError:
                conn = None

    def run(self):
        self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(self.clients)]
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def check_load(args, router_dsn, shards, shard_of, accounts):
    load = Load(router_dsn, accounts, clients=6)
    start = time.time()
    load.run()
    downs = []
    for k in range(args.kills):
        victim = 1 + k % (len(shards) - 1)
        time.sleep(max(0.0, start + args.seconds * (k + 0.3) / (args.kills + 0.5) - time.time()))
        down_at = time.time()
        kill_tree(args.shard_dir[victim])
        killed_at = time.time()
        mine = [a for a in accounts if shard_of[a] == victim]
        # down until its accounts failed and the others went on (at most 10 s)
        deadline = time.time() + 10
        while time.time() < deadline:
            with load.lock:
                failed_mine = sum(1 for e in load.errors if e[0] > killed_at and set(e[4]) & set(mine))
                others = sum(1 for t, a, *_ in load.ok if t > killed_at and a not in mine)
            if failed_mine >= 20 and others >= 20 and time.time() > killed_at + 2:
                break
            time.sleep(0.1)
        up_from = time.time()
        restart(args.shard_dir[victim], args.pg_bin)
        up_at = time.time()
        downs.append((victim, down_at, killed_at, up_from, up_at))
        print(f'# shard {victim} killed at {killed_at - start:.1f} s, restarted at {up_at - start:.1f} s')
    time.sleep(max(0.0, start + args.seconds - time.time()))
    # the killed shards' accounts work again before the load ends (at most 60 s)
    last_up = downs[-1][4] if downs else start
    wait_until('the killed shard\'s accounts are served again', lambda: any(
        t > last_up and shard_of[a] == downs[-1][0] for t, a, *_ in list(load.ok)), 60)
    load.join()
    print(f'# load: {len(load.ok)} calls answered ({load.transfers} transfers), {len(load.errors)} failed,'
          f' {time.time() - start:.1f} s')
    check(f'the load moved credits by transfer ({load.transfers})', load.transfers > 0)
    for victim, down_at, killed_at, up_from, up_at in downs:
        mine = {a for a in accounts if shard_of[a] == victim}
        during = [e for e in load.errors if killed_at < e[0] < up_from]
        failed_mine = [e for e in during if set(e[4]) & mine]
        check(f'shard {victim} down: calls for its accounts failed ({len(failed_mine)})', len(failed_mine) > 0)
        for code, message in sorted({(e[2], e[3]) for e in failed_mine})[:4]:
            print(f'#   seen: {code} {message}')
        # PL/Proxy's own error: XX000 (README, Scaling out), the message
        # naming the function and the failed connection
        clear = [e for e in failed_mine if e[2] == 'XX000' and e[3].startswith('PL/Proxy function')
                 and re.search(r'connection|server closed|terminat', e[3])]
        check(f'shard {victim} down: every failure is PL/Proxy\'s XX000 saying the connection failed',
              len(clear) == len(failed_mine), [e for e in failed_mine if e not in clear][:3])
        others_ok = [o for o in load.ok if killed_at < o[0] < up_from and o[1] not in mine]
        check(f'shard {victim} down: the other shards went on ({len(others_ok)} calls answered)',
              len(others_ok) > 0)
        others_failed = [e for e in load.errors if down_at < e[0] < up_at and not set(e[4]) & mine]
        check(f'shard {victim} down: no call for another shard\'s account failed',
              not others_failed, others_failed[:3])
    unexpected = [e for e in load.errors
                  if not any(d[1] <= e[0] <= d[4] + 1 and any(shard_of[x] == d[0] for x in e[4])
                             for d in downs)]
    check('no failure outside a shard\'s downtime', not unexpected, unexpected[:3])
    # every call a client saw succeed is there
    entries = {}
    shards = [connect(s.dsn) for s in shards]
    for i, s in enumerate(shards):
        for a, ev, eid in rows(s, 'SELECT account_id, event_id, entry_id FROM credit_ledger.entries'):
            entries[(a, eid)] = (i, ev)
    missing = [o for o in load.ok if entries.get((o[1], o[3]), (None,))[0] != shard_of[o[1]]
               or (o[2] is not None and '/settle' not in o[2] and entries[(o[1], o[3])][1] != o[2])]
    check(f'every answered call ({len(load.ok)}) is in its shard\'s ledger as answered', not missing,
          missing[:3])
    # sagas the kill interrupted (a step on the killed shard failed): held
    # until resume_transfers() finishes them, then nothing created or lost
    router = connect(router_dsn)
    in_flight = sum(rows(s, "SELECT count(*) FROM credit_ledger.transfer_leg WHERE state = 'held'")[0][0]
                    for s in shards)
    resumed = rows(router, "SELECT * FROM credit_ledger.resume_transfers('0 seconds', 10000)")
    print(f'# sagas left in flight by the load: {in_flight}; resume_transfers(): {resumed[0]}')
    check('resume_transfers() after the load: every saga left in flight finished, none failed',
          resumed[0][0] + resumed[0][1] == in_flight and resumed[0][2] == 0, (in_flight, resumed))
    router.close()
    check_conserved('after the load', shards)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=('check',))
    p.add_argument('--router', required=True)
    p.add_argument('--config', required=True)
    p.add_argument('--shard', action='append', required=True)
    p.add_argument('--shard-dir', action='append', required=True)
    p.add_argument('--pg-bin', required=True)
    p.add_argument('--readme', required=True)
    p.add_argument('--seconds', type=float, default=20)
    p.add_argument('--kills', type=int, default=1)
    args = p.parse_args()

    router, config = connect(args.router), connect(args.config)
    shards = [connect(d) for d in args.shard]
    accounts = list(range(1, 17))
    shard_of = dict(rows(router, 'SELECT a, hashint8(a) & 3 FROM unnest(%s::bigint[]) a',
                         (accounts + [999999],)))
    one_per_shard = [min(a for a in accounts if shard_of[a] == i) for i in range(len(shards))]

    check_api(router, shards[0], args.readme)
    check_routing(router, shards, shard_of, accounts)
    check_errors(router, shards, shard_of)
    check_batches(router, shards, shard_of, accounts)
    check_reference(router, config, shards, one_per_shard)
    check_orders(router, shards, shard_of, one_per_shard[3])
    check_events(router, shards, shard_of)
    check_housekeeping(router, shards)
    router.close()
    check_transfers(args.router, shards, shard_of, accounts)
    check_load(args, args.router, shards, shard_of, accounts)
    shards = [connect(d) for d in args.shard]
    for i, s in enumerate(shards):
        bad = rows(s, 'SELECT * FROM credit_ledger.verify()')
        check(f'shard {i}: verify() is empty', not bad, bad[:3])
    bad = rows(connect(args.router), 'SELECT * FROM credit_ledger.verify()')
    check('verify() through the router is empty', not bad, bad[:3])
    print(f'{passed} passed, {failed} failed')
    raise SystemExit(1 if failed else 0)


if __name__ == '__main__':
    main()
