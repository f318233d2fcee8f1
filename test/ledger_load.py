#!/usr/bin/python3
"""
ledger_load.py: the load behind the stress, crash and backup tests.

  ledger_load.py run   --dsn DSN [--clients 16] [--seconds 25] [--accounts 4]
                       [--crash-tolerant] [--sweep-every 0.1] [--seed N]
  ledger_load.py check --dsn DSN

"run" starts client threads that call credit_ledger's functions in a random
mix on a few accounts. Every kind of call is one entry in OPERATIONS. Each
call's outcome is kept: acknowledged (the commit reached the client),
refused with a SQLSTATE, or lost (the connection broke: it may or may not
have committed). Afterwards the clients' record is compared with the ledger
and the invariants are checked. "check" checks the invariants only.

Exit status 0 only when every error was a documented refusal, every
acknowledged call is in the ledger exactly as answered, nothing refused is,
and every invariant holds.
"""
import argparse
import collections
import datetime
import json
import random
import sys
import threading
import time

import psycopg2

# What a caller may be refused with (DESIGN.md section 9). Nothing else.
DOCUMENTED = {'LD001', 'LD002', 'LD003', 'LD004', 'LD005', 'LD006', 'LD007',
              'LD008', 'LD009', '22023', '22004'}
# A broken connection: the server went away under the call.
LOST = 'lost'

UTC = datetime.timezone.utc

OP_RESULT = ('entry_id', 'hold_id', 'account_id', 'amount', 'balance',
             'reserved', 'available', 'replayed')


class Call:
    """One SQL call a client makes, and what it may answer."""

    def __init__(self, op, account, sql, params, event_id=None, expect=None,
                 origin=None, shared=False, amount=None):
        self.op = op                # operation name (OPERATIONS key)
        self.account = account
        self.sql = sql
        self.params = params
        self.event_id = event_id    # fresh key this call introduces, if any
        self.expect = expect        # None, 'replay' or a SQLSTATE it must get
        self.origin = origin        # the earlier call a replay or conflict reuses
        self.shared = shared        # key shared by racing clients
        self.amount = amount        # the op_result amount a success must carry
        self.hold_key = None        # (account, 'hold N') for a confirm or cancel
        self.items = None           # a batch: one Call per item, in item order


def money(op, account, function, args, event_id, **kw):
    placeholders = ', '.join(['%s'] * len(args))
    return Call(op, account, 'SELECT * FROM credit_ledger.%s(%s)' % (function, placeholders),
                args, event_id=event_id, **kw)


# ---------------------------------------------------------------------------
# The operations: name -> (weight, builder). A builder gets the client and an
# account and returns the Call to make (or None when it has nothing to do).
# ---------------------------------------------------------------------------

def op_grant(c, account):
    amount = c.rng.randint(1, 200)
    expires_at = None
    if c.rng.random() < 0.5:        # short expiries, so that credits lapse mid-run
        expires_at = datetime.datetime.now(UTC) + datetime.timedelta(seconds=c.rng.uniform(0.3, 3))
    eid = c.new_event_id()
    return money('grant', account, 'grant_credits',
                 (account, amount, eid, c.rng.choice(('recharge', 'gift')), expires_at,
                  c.rng.randint(0, 2)), eid, amount=amount)


def op_deduct(c, account):
    amount = c.rng.randint(1, 300)
    eid = c.new_event_id()
    return money('deduct', account, 'deduct', (account, amount, eid), eid, amount=amount)


def op_refund(c, account):
    original = c.shared.charge(c.rng, account)
    if original is None:
        return None
    amount = None if c.rng.random() < 0.4 else c.rng.randint(1, 60)
    eid = c.new_event_id()
    return money('refund', account, 'refund', (account, eid, original, amount), eid,
                 amount=amount)


def op_adjust(c, account):
    delta = c.rng.choice((-1, 1)) * c.rng.randint(1, 100)
    eid = c.new_event_id()
    return money('adjust', account, 'adjust', (account, delta, eid, 'stress'), eid, amount=delta)


def op_set_status(c, account):
    status = c.rng.choices(('active', 'frozen', 'closed'), (30, 8, 1))[0]
    return Call('set_status', account, 'SELECT credit_ledger.set_status(%s, %s, %s)',
                (account, status, 'stress'))


def op_set_credit_limit(c, account):
    return Call('set_credit_limit', account, 'SELECT credit_ledger.set_credit_limit(%s, %s)',
                (account, c.rng.choice((0, 0, 50, 200))))


def op_replay(c, account):
    """The same call again: the original answer, replayed, no new effect."""
    origin = c.earlier_call()
    if origin is None:
        return None
    return Call('replay', origin.account, origin.sql, origin.params, expect='replay',
                origin=origin)


def op_conflict(c, account):
    """An earlier key with another request: LD004, nothing changes."""
    origin = c.earlier_call()
    if origin is None:
        return None
    return money('conflict', origin.account, 'grant_credits',
                 (origin.account, abs(origin.amount or 0) + 1, origin.event_id, 'conflict'),
                 None, expect='LD004', origin=origin)


def op_race(c, account):
    """A key every client may use at the same moment, with the same request."""
    n = int(time.time() * 5) * 4 + c.rng.randint(0, 3)
    account = c.shared.accounts[n % len(c.shared.accounts)]
    eid = 'race-%d' % n
    if n % 2:
        return money('race', account, 'grant_credits', (account, 1 + n % 50, eid), eid,
                     shared=True, amount=1 + n % 50)
    return money('race', account, 'deduct', (account, 1 + n % 20, eid), eid,
                 shared=True, amount=1 + n % 20)


def op_balance(c, account):
    return Call('balance', account, 'SELECT * FROM credit_ledger.balance(%s)', (account,))


def op_reserve(c, account):
    """A hold, short-lived half of the time so that some are left to expire."""
    amount = c.rng.randint(1, 200)
    ttl = '%.3f s' % c.rng.uniform(0.2, 2) if c.rng.random() < 0.5 else '30 s'
    eid = c.new_event_id()
    return money('reserve', account, 'reserve', (account, amount, eid, ttl), eid, amount=amount)


def op_reserve_agent(c, account):
    """An agent session's hold (1.1): captured on expiry or released, and
    leased to this client's session (ended by the worker if the session dies,
    as in the crash test) half of the time."""
    amount = c.rng.randint(50, 400)
    ttl = '%.3f s' % c.rng.uniform(0.3, 3)
    eid = c.new_event_id()
    return Call('reserve_agent', account,
                'SELECT * FROM credit_ledger.reserve(%s, %s, %s, %s, on_expiry => %s, lease => %s)',
                (account, amount, eid, ttl, c.rng.choice(('release', 'capture')),
                 c.rng.random() < 0.5), event_id=eid, amount=amount)


def op_capture(c, account):
    """A tool call billed against any client's hold (1.1): part of what it
    holds, now and then past it or final."""
    hold = c.shared.hold(c.rng, account)
    if hold is None:
        return None
    hold_id, held = hold
    amount = c.rng.randint(1, max(1, held // 3)) if c.rng.random() < 0.8 else c.rng.randint(1, held + 50)
    eid = c.new_event_id()
    return money('capture', account, 'capture', (account, hold_id, amount, eid, c.rng.random() < 0.2),
                 eid, amount=amount)


def op_extend_hold(c, account):
    hold = c.shared.hold(c.rng, account)
    if hold is None:
        return None
    eid = c.new_event_id()
    return money('extend_hold', account, 'extend_hold',
                 (account, hold[0], '%.3f s' % c.rng.uniform(0.3, 3), eid), eid, amount=0)


def settle(op, c, account, function, args_of):
    """A confirm or cancel of a hold any client made: racing settlements."""
    hold = c.shared.hold(c.rng, account)
    if hold is None:
        return None
    hold_id, held = hold
    call = money(op, account, function, args_of(hold_id, held), None, shared=True)
    call.hold_key = (account, 'hold %d' % hold_id)
    return call


def op_confirm_less(c, account):
    return settle('confirm_less', c, account, 'confirm',
                  lambda h, held: (account, h, c.rng.randint(1, held)))


def op_confirm_more(c, account):
    return settle('confirm_more', c, account, 'confirm',
                  lambda h, held: (account, h, held + c.rng.randint(1, 100)))


def op_confirm_held(c, account):
    return settle('confirm_held', c, account, 'confirm', lambda h, held: (account, h, None))


def op_cancel(c, account):
    return settle('cancel', c, account, 'cancel', lambda h, held: (account, h, 'stress'))


PRICED = ('chat', 'openai', 'gpt-4o')


def op_charge(c, account):
    """Priced usage; now and then a model no rule prices (LD007)."""
    model = PRICED[2] if c.rng.random() < 0.95 else 'no-such-model'
    eid = c.new_event_id()
    return money('charge', account, 'charge',
                 (account, eid, PRICED[0], PRICED[1], model, c.rng.randint(0, 20000),
                  c.rng.randint(0, 5000)), eid)


def op_charge_usage(c, account):
    """Priced usage as the provider returned it: an OpenAI usage object (its
    cached tokens part of the prompt's) or an Anthropic one (cache reads and
    writes apart from the input). The rule is charge's (SETUP)."""
    eid = c.new_event_id()
    if c.rng.random() < 0.5:
        prompt = c.rng.randint(0, 20000)
        usage = {'prompt_tokens': prompt, 'completion_tokens': c.rng.randint(0, 5000),
                 'prompt_tokens_details': {'cached_tokens': c.rng.randint(0, prompt)}}
    else:
        usage = {'input_tokens': c.rng.randint(0, 5000), 'output_tokens': c.rng.randint(0, 5000),
                 'cache_read_input_tokens': c.rng.randint(0, 20000),
                 'cache_creation_input_tokens': c.rng.randint(0, 5000)}
    return money('charge_usage', account, 'charge_usage',
                 (account, eid, PRICED[0], PRICED[1], PRICED[2], json.dumps(usage)), eid)


def op_reward(c, account):
    eid = c.new_event_id()
    return money('reward', account, 'reward', (account, 'stress_bonus', eid), eid)


def op_order(c, account):
    """A credit pack ordered and paid by its webhook, in one statement: the
    grant entry (event_id order:<order_no>) answers. A replay of it is the
    webhook retried, which must answer the same grant."""
    order_no = c.new_event_id()
    return Call('order', account,
                'SELECT p.grant_entry_id AS entry_id, p.credits AS amount,'
                ' p.paid_at <> statement_timestamp() AS replayed'
                ' FROM credit_ledger.create_order(%s, %s, 1, %s) o,'
                ' LATERAL credit_ledger.pay_order(o.order_no, %s, o.amount_minor, o.currency) p',
                (account, 'stress_pack', order_no, 'pay-' + order_no),
                event_id='order:' + order_no, amount=50)


def op_void(c, account):
    """An operator voids the account's newest bucket (its remaining credits
    leave; held slices stay held). No bucket yet is 22004, documented."""
    eid = c.new_event_id()
    return Call('void', account,
                'SELECT * FROM credit_ledger.void_grant(%s,'
                ' (SELECT max(bucket_id) FROM credit_ledger.bucket WHERE account_id = %s), %s, %s)',
                (account, account, eid, 'stress'), event_id=eid)


# 1.1 teams: members and keys of the accounts, with their own caps
SUBJECTS = ('alice', 'bob', 'key-ci')


def op_deduct_subject(c, account):
    amount = c.rng.randint(1, 300)
    eid = c.new_event_id()
    return Call('deduct_subject', account,
                'SELECT * FROM credit_ledger.deduct(%s, %s, %s, subject => %s)',
                (account, amount, eid, c.rng.choice(SUBJECTS)), event_id=eid, amount=amount)


def op_reserve_subject(c, account):
    """A member's hold, settled by the racing confirms and cancels, or left to expire."""
    amount = c.rng.randint(1, 200)
    ttl = '%.3f s' % c.rng.uniform(0.2, 2) if c.rng.random() < 0.5 else '30 s'
    eid = c.new_event_id()
    return Call('reserve_subject', account,
                'SELECT * FROM credit_ledger.reserve(%s, %s, %s, %s, subject => %s)',
                (account, amount, eid, ttl, c.rng.choice(SUBJECTS)), event_id=eid, amount=amount)


def op_set_spend_limit(c, account):
    """A cap per day, week or month for a member or the account, or none."""
    subject = c.rng.choice(SUBJECTS + (None,))
    max_credits = c.rng.choice((300, 1000, 5000, None, None) if subject else (200000, None, None, None))
    return Call('set_spend_limit', account, 'SELECT credit_ledger.set_spend_limit(%s, %s, %s, %s)',
                (account, c.rng.choice(('day', 'week', 'month')), max_credits, subject))


def op_transfer(c, account):
    """Credits to another account of the mix (locks in account_id order)."""
    others = [a for a in c.shared.accounts if a != account]
    amount = c.rng.randint(1, 150)
    eid = c.new_event_id()
    return Call('transfer', account,
                'SELECT out_entry_id AS entry_id, %s::bigint AS amount, replayed'
                ' FROM credit_ledger.transfer(%s, %s, %s, %s)',
                (amount, account, c.rng.choice(others), amount, eid), event_id=eid)


def batch(op, c, item_of):
    """A batch over the accounts in a random order (an account may come
    twice), now and then an item that asks too much: each item is recorded
    as the single call it stands for, so a replay later repeats it as one."""
    accounts = [c.rng.choice(c.shared.accounts) for _ in range(c.rng.randint(1, 8))]
    items = [item_of(a) for a in accounts]
    columns = list(zip(*(i.params for i in items)))
    call = Call(op, None, None, None)
    call.items = items
    return call, columns


def op_deduct_many(c, account):
    def item(a):
        amount = c.rng.randint(1, 300) if c.rng.random() < 0.9 else 10 ** 9
        eid = c.new_event_id()
        return money('deduct_many', a, 'deduct', (a, amount, eid), eid, amount=amount)
    call, (accounts, amounts, eids) = batch('deduct_many', c, item)
    call.sql = 'SELECT * FROM credit_ledger.deduct_many(%s, %s, %s)'
    call.params = (list(accounts), list(amounts), list(eids))
    return call


def op_charge_many(c, account):
    def item(a):
        model = PRICED[2] if c.rng.random() < 0.95 else 'no-such-model'
        eid = c.new_event_id()
        return money('charge_many', a, 'charge',
                     (a, eid, PRICED[0], PRICED[1], model, c.rng.randint(0, 20000),
                      c.rng.randint(0, 5000)), eid)
    call, (accounts, eids, _, _, models, tin, tout) = batch('charge_many', c, item)
    call.sql = ('SELECT * FROM credit_ledger.charge_many(%s, %s, %s, %s, %s,'
                ' %s::bigint[], %s::bigint[])')
    call.params = (list(accounts), list(eids), PRICED[0], PRICED[1], list(models),
                   list(tin), list(tout))
    return call


def op_grant_later(c, account):
    """Credits that start in a moment (1.1): the grant answers 0 credits and
    the account's next call or the sweep writes their arrival mid-run; some
    expire soon after they start."""
    now = datetime.datetime.now(UTC)
    effective_at = now + datetime.timedelta(seconds=c.rng.uniform(0.1, 2))
    expires_at = None
    if c.rng.random() < 0.5:
        expires_at = effective_at + datetime.timedelta(seconds=c.rng.uniform(0.2, 2))
    eid = c.new_event_id()
    return money('grant_later', account, 'grant_credits',
                 (account, c.rng.randint(1, 200), eid, 'gift', expires_at, c.rng.randint(0, 2),
                  None, None, effective_at), eid)


def op_allowance(c, account):
    """An allowance set (from up to three days ago: the days since then are
    issued at once, with their rollover) or ended (1.1). Ending an unknown
    one is 22023, a closed account LD003: documented."""
    name = c.rng.choice(('plan-a', 'plan-b'))
    if c.rng.random() < 0.4:
        return Call('allowance', account, 'SELECT credit_ledger.end_allowance(%s, %s)', (account, name))
    starts_at = datetime.datetime.now(UTC) - datetime.timedelta(days=c.rng.uniform(0, 3))
    return Call('allowance', account,
                'SELECT credit_ledger.set_allowance(%s, %s, %s, %s, %s, starts_at => %s)',
                (account, name, c.rng.randint(1, 100), 'day', c.rng.choice((0, 50)), starts_at))


# name -> (weight, builder, the credit_ledger function it needs): an
# operation whose function this build lacks is left out of the mix
OPERATIONS = {
    'grant': (20, op_grant, 'grant_credits'),
    'deduct': (25, op_deduct, 'deduct'),
    'refund': (8, op_refund, 'refund'),
    'adjust': (4, op_adjust, 'adjust'),
    'set_status': (2, op_set_status, 'set_status'),
    'set_credit_limit': (2, op_set_credit_limit, 'set_credit_limit'),
    'replay': (8, op_replay, None),
    'conflict': (4, op_conflict, None),
    'race': (6, op_race, None),
    'balance': (4, op_balance, 'balance'),
    'reserve': (14, op_reserve, 'reserve'),
    'confirm_less': (5, op_confirm_less, 'confirm'),
    'confirm_more': (3, op_confirm_more, 'confirm'),
    'confirm_held': (3, op_confirm_held, 'confirm'),
    'cancel': (3, op_cancel, 'cancel'),
    'charge': (10, op_charge, 'charge'),
    'charge_usage': (4, op_charge_usage, 'charge_usage'),
    'reward': (3, op_reward, 'reward'),
    'order': (3, op_order, 'pay_order'),
    'void': (1, op_void, 'void_grant'),
    'reserve_agent': (6, op_reserve_agent, 'capture'),
    'capture': (10, op_capture, 'capture'),
    'extend_hold': (2, op_extend_hold, 'extend_hold'),
    'deduct_subject': (8, op_deduct_subject, 'set_spend_limit'),
    'reserve_subject': (5, op_reserve_subject, 'set_spend_limit'),
    'set_spend_limit': (2, op_set_spend_limit, 'set_spend_limit'),
    'transfer': (6, op_transfer, 'transfer'),
    'deduct_many': (4, op_deduct_many, 'deduct_many'),
    'charge_many': (3, op_charge_many, 'charge_many'),
    # the 1.1 grant_credits (effective_at) comes with set_allowance
    'grant_later': (5, op_grant_later, 'set_allowance'),
    'allowance': (2, op_allowance, 'set_allowance'),
}

# what the run sets up for the operations that need it
SETUP = {
    'charge': "INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price,"
              " output_price, cached_price, reasoning_price, request_price)"
              " VALUES ('chat', 'openai', 'gpt-4o', 2500, 10000, 1250, 10000, 1)",
    'reward': "INSERT INTO credit_ledger.reward_rule (source, amount, expires_after, daily_cap)"
              " VALUES ('stress_bonus', 25, '2 seconds', 100000)",
    'order': "INSERT INTO credit_ledger.product (sku, name, credits, price_minor, currency,"
             " grant_expires_after) VALUES ('stress_pack', 'stress pack', 50, 500, 'USD', '3 seconds')",
}


# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

class Shared:
    """What the clients share: the accounts, charges to refund, the record."""

    def __init__(self, accounts):
        self.accounts = accounts
        self.lock = threading.Lock()
        self.charges = {a: collections.deque(maxlen=40) for a in accounts}
        self.holds = {a: collections.deque(maxlen=20) for a in accounts}
        self.outcomes = collections.Counter()       # (op, outcome) -> calls
        self.acknowledged = {}      # (account, event_id) -> (entry_id, amount)
        self.refused = set()        # (account, event_id) refused with a SQLSTATE
        self.lost = set()           # (account, event_id) whose outcome is unknown
        self.race_results = collections.defaultdict(list)
        self.verifications = 0      # verify() runs during the load
        self.midrun = []            # (verify rows, last entries) seen during the load
        self.problems = []

    def charge(self, rng, account):
        with self.lock:
            charges = self.charges[account]
            return rng.choice(charges) if charges else None

    def hold(self, rng, account):
        with self.lock:
            holds = self.holds[account]
            return rng.choice(holds) if holds else None

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)


def connect(dsn, deadline):
    """Connects, retrying while the server restarts (until the deadline)."""
    while True:
        try:
            conn = psycopg2.connect(dsn)
            conn.autocommit = True
            return conn
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


class Client(threading.Thread):
    def __init__(self, number, args, shared, deadline):
        super().__init__(daemon=True)
        self.number = number
        self.args = args
        self.shared = shared
        self.deadline = deadline
        self.rng = random.Random(args.seed * 1000 + number)
        self.sequence = 0
        self.history = collections.deque(maxlen=100)    # acknowledged keyed calls
        self.names = list(args.operations)
        self.weights = [OPERATIONS[n][0] for n in self.names]

    def new_event_id(self):
        self.sequence += 1
        return 'c%d-s%d-%d' % (self.number, self.args.seed, self.sequence)

    def earlier_call(self):
        return self.rng.choice(self.history) if self.history else None

    def run(self):
        conn = connect(self.args.dsn, self.deadline + 30)
        while time.time() < self.deadline:
            name = self.rng.choices(self.names, self.weights)[0]
            call = OPERATIONS[name][1](self, self.rng.choice(self.shared.accounts))
            if call is None:
                continue
            outcome, row = self.execute(conn, call)
            if outcome == LOST:
                conn = connect(self.args.dsn, self.deadline + 30)
            self.record(call, outcome, row)
            if self.args.verify_each and outcome == 'ok':
                self.verify_after(conn, call)

    def verify_after(self, conn, call):
        """--verify-each: the first call after which verify() is not empty."""
        with conn.cursor() as cur:
            cur.execute('SELECT * FROM credit_ledger.verify(%s)', (call.account,))
            rows = cur.fetchall()
        if rows:
            self.shared.problem('verify() after %s %r: %r' % (call.op, call.params, rows))
            self.deadline = 0

    def execute(self, conn, call, retry=True):
        try:
            with conn.cursor() as cur:
                cur.execute(call.sql, call.params)
                rows = cur.fetchall() if call.items is not None else [cur.fetchone()]
                names = [d[0] for d in cur.description]
            rows = [dict(zip(names, row)) for row in rows]
            return 'ok', rows if call.items is not None else rows[0]
        except psycopg2.Error as e:
            # 57P01..57P03: the server shutting down or starting under the call
            if e.pgcode is None or e.pgcode.startswith(('08', '57P')):
                return LOST, None
            # ALTER EXTENSION UPDATE replaced the function between the call's
            # planning and its start (README, "Upgrading"): the call did
            # nothing, and the documented answer is to retry it once
            if (self.args.across_update and retry and e.pgcode == 'XX000'
                    and 'cache lookup failed for function' in str(e)):
                with self.shared.lock:
                    self.shared.outcomes[(call.op, 'retried across the update')] += 1
                return self.execute(conn, call, retry=False)
            return e.pgcode, None

    def record(self, call, outcome, row):
        if call.items is not None:
            self.record_batch(call, outcome, row)
            return
        s = self.shared
        key = (call.account, call.event_id)
        with s.lock:
            s.outcomes[(call.op, outcome)] += 1
            if outcome == LOST and call.event_id is not None:
                s.lost.add(key)
        if outcome == LOST:
            if not self.args.crash_tolerant:
                s.problem('%s: connection lost' % call.op)
            return
        if outcome != 'ok':
            if outcome not in DOCUMENTED:
                s.problem('%s %r: undocumented SQLSTATE %s' % (call.op, call.params, outcome))
            if call.expect not in (None, outcome):
                s.problem('%s %r: expected %s, got %s' % (call.op, call.params, call.expect, outcome))
            if call.event_id is not None and not call.shared:
                with s.lock:
                    s.refused.add(key)
            return
        self.check_success(call, row)

    def record_batch(self, call, outcome, rows):
        """Each item as its single call: applied (00000) or refused with its
        SQLSTATE; a batch that failed as a whole failed every item."""
        if outcome != 'ok':
            for item in call.items:
                self.record(item, outcome, None)
            return
        if [r['item'] for r in rows] != list(range(1, len(call.items) + 1)):
            self.shared.problem('%s: items answered %r' % (call.op, [r['item'] for r in rows]))
            return
        for item, row in zip(call.items, rows):
            if row['account_id'] != item.account:
                self.shared.problem('%s item %r: answered for account %r' % (call.op, item.params, row['account_id']))
            if row['sqlstate'] == '00000':
                self.record(item, 'ok', row)
            else:
                self.record(item, row['sqlstate'], None)

    def check_success(self, call, row):
        s = self.shared
        if call.expect not in (None, 'replay'):
            s.problem('%s %r: expected %s, succeeded' % (call.op, call.params, call.expect))
        if 'available' in row and 'credit_limit' in row:
            if row['available'] < -row['credit_limit']:
                s.problem('balance(%d) below its credit limit: %r' % (call.account, row))
        if 'replayed' not in row:
            return
        if row['entry_id'] is None:     # reward() past its cap: NULL, no effect
            return
        if call.expect == 'replay':
            entry_id, amount = call.origin.answer
            if not row['replayed'] or (row['entry_id'], row['amount']) != (entry_id, amount):
                s.problem('replay %r: answered %r, first answer entry %d'
                          % (call.params, row, entry_id))
            return
        if call.amount is not None and row['amount'] != call.amount:
            s.problem('%s %r: amount %d, asked %d' % (call.op, call.params, row['amount'], call.amount))
        call.answer = (row['entry_id'], row['amount'])
        if call.shared:
            with s.lock:
                s.race_results[call.hold_key or (call.account, call.event_id)].append(row)
            return
        if row['replayed']:
            s.problem('%s %r: a fresh event_id was answered as a replay' % (call.op, call.params))
        with s.lock:
            s.acknowledged[(call.account, call.event_id)] = call.answer
            if call.op in ('deduct', 'charge', 'charge_usage', 'reserve', 'capture', 'deduct_subject',
                           'reserve_subject', 'deduct_many', 'charge_many'):
                s.charges[call.account].append(call.event_id)
            if call.op in ('reserve', 'reserve_agent', 'reserve_subject'):
                s.holds[call.account].append((row['hold_id'], row['amount']))
        # a void names the newest bucket when it runs: run again, it may name
        # another (a different request, LD004), so it is not replayed
        if call.op != 'void':
            self.history.append(call)


def sweeper(args, shared, deadline, stop):
    """Sweeps every --sweep-every seconds, as the worker would, while clients run."""
    conn = connect(args.dsn, deadline + 30)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regprocedure('credit_ledger.sweep(integer)') IS NOT NULL")
        if not cur.fetchone()[0]:
            return
    call = Call('sweep', None, 'SELECT * FROM credit_ledger.sweep()', ())
    client = Client(-1, args, shared, deadline)
    while not stop.is_set():
        outcome, row = client.execute(conn, call)
        if outcome == LOST:
            conn = connect(args.dsn, deadline + 30)
        client.record(call, outcome, row)
        stop.wait(args.sweep_every)


def verifier(args, shared, deadline, stop):
    """verify() every half second while the clients run: a state that a later
    call happens to repair must not pass unseen."""
    conn = connect(args.dsn, deadline + 30)
    while not stop.wait(0.5):
        try:
            with conn.cursor() as cur:
                cur.execute('SELECT * FROM credit_ledger.verify()')
                rows = cur.fetchall()
        except psycopg2.Error as e:
            if e.pgcode is None or e.pgcode.startswith(('08', '57P')):
                conn = connect(args.dsn, deadline + 30)
                continue
            shared.problem('verify() failed: %s %s' % (e.pgcode, e))
            continue
        with shared.lock:
            shared.verifications += 1
        if rows:
            # what led there: the account's last entries
            with conn.cursor() as cur:
                cur.execute("SELECT entry_id, kind, amount, reserved_delta, hold_id, bucket_ids,"
                            " bucket_amounts, ref_entry_id, source FROM credit_ledger.entry"
                            " WHERE account_id = %s ORDER BY entry_id DESC LIMIT 12", (rows[0][0],))
                entries = cur.fetchall()
            with shared.lock:
                shared.midrun.append((rows[:3], list(reversed(entries))))


# ---------------------------------------------------------------------------
# After the run: the clients' record against the ledger, and the invariants
# ---------------------------------------------------------------------------

INVARIANTS = [
    ('verify() is empty',
     'SELECT * FROM credit_ledger.verify()'),
    ('entries of every account sum to its balance',
     'SELECT a.account_id, a.balance, e.total FROM credit_ledger.account a'
     ' LEFT JOIN (SELECT account_id, sum(amount) AS total FROM credit_ledger.entry GROUP BY 1) e'
     ' USING (account_id) WHERE a.balance IS DISTINCT FROM coalesce(e.total, 0)'),
    ('no account below its credit limit',
     'SELECT account_id, available, credit_limit FROM credit_ledger.accounts'
     ' WHERE available < -credit_limit'),
    ('no charge refunded beyond what it took',
     "SELECT c.account_id, c.entry_id FROM credit_ledger.entry c"
     " JOIN (SELECT account_id, ref_entry_id, sum(amount) AS refunded FROM credit_ledger.entry"
     "       WHERE kind = 'refund' GROUP BY 1, 2) r"
     "   ON r.account_id = c.account_id AND r.ref_entry_id = c.entry_id"
     " WHERE r.refunded > -c.amount"),
    ('no bucket holds more than it was granted',
     'SELECT account_id, bucket_id FROM credit_ledger.bucket WHERE remaining > granted'),
]


# 1.1's events: an account's balance.depleted and balance.recovered events
# alternate (a crossing of zero cannot happen twice in a row), the last one
# says which side of zero the stored available is on, and each names an
# entry of its account. A crash that kept a call's entries but lost its
# event, or the reverse, breaks one of these.
EVENT_INVARIANT = ('balance events alternate and end on the right side', """
WITH crossings AS (
    SELECT account_id, event_seq, kind, entry_id,
           lag(kind) OVER (PARTITION BY account_id ORDER BY event_seq) AS previous,
           row_number() OVER (PARTITION BY account_id ORDER BY event_seq DESC) AS from_last
    FROM credit_ledger.event WHERE kind IN ('balance.depleted', 'balance.recovered')
)
SELECT 'twice in a row' AS problem, c.account_id, c.event_seq FROM crossings c
WHERE c.kind = c.previous
UNION ALL
SELECT 'last event, other side', c.account_id, c.event_seq
FROM crossings c JOIN credit_ledger.account a USING (account_id)
WHERE c.from_last = 1 AND (c.kind = 'balance.recovered') <> (a.balance - a.reserved > 0)
UNION ALL
SELECT 'no such entry', c.account_id, c.event_seq FROM crossings c
WHERE NOT EXISTS (SELECT FROM credit_ledger.entry x
                  WHERE x.account_id = c.account_id AND x.entry_id = c.entry_id)
""")


def check_invariants(cur):
    ok = True
    cur.execute("SELECT to_regclass('credit_ledger.event') IS NOT NULL")
    events = cur.fetchone()[0]
    for name, sql in INVARIANTS + ([EVENT_INVARIANT] if events else []):
        cur.execute(sql)
        rows = cur.fetchall()
        print('%-48s %s' % (name, 'ok' if not rows else 'FAILED %r' % rows[:5]))
        ok = ok and not rows
    return ok


# the op_result amount an entry answered (as entry_op_amount() in src/ledger/entry.c)
LEDGER_KEYS = """
SELECT account_id, event_id, entry_id,
       CASE WHEN kind = 'reserve' THEN reserved_delta
            WHEN kind IN ('cancel', 'expire_hold') THEN -reserved_delta
            WHEN kind IN ('deduct', 'confirm', 'capture', 'expire_grant', 'void_grant', 'transfer_out') THEN -amount
            ELSE amount END
FROM credit_ledger.entry WHERE event_id IS NOT NULL
"""


def compare_with_ledger(cur, shared):
    """Every acknowledged call is in the ledger as answered, no refused one is."""
    # only the load's own accounts: others (test/upgrade.sh's) are not its record
    cur.execute(LEDGER_KEYS + ' AND account_id = ANY(%s)', (shared.accounts,))
    ledger = {(r[0], r[1]): (r[2], r[3]) for r in cur.fetchall()}
    # a settled hold is keyed by its hold, and answers with its settling entry
    cur.execute("SELECT account_id, 'hold ' || hold_id, result_entry_id FROM credit_ledger.hold"
                " WHERE state IN ('confirmed', 'cancelled')")
    settled = {(r[0], r[1]): (r[2], None) for r in cur.fetchall()}
    problems = []
    for key, answer in shared.acknowledged.items():
        if ledger.get(key) != answer:
            problems.append('acknowledged %r answered %r, ledger has %r' % (key, answer, ledger.get(key)))
    for key in shared.refused:
        if key in ledger:
            problems.append('refused %r is in the ledger' % (key,))
    for key, rows in shared.race_results.items():
        entries = {r['entry_id'] for r in rows}
        firsts = sum(1 for r in rows if not r['replayed'])
        stored = settled if key[1].startswith('hold ') else ledger
        if len(entries) != 1 or firsts > 1 or stored.get(key, (None,))[0] not in entries:
            problems.append('raced key %r: answers %r, ledger %r' % (key, rows, stored.get(key)))
    known = set(shared.acknowledged) | set(shared.race_results) | shared.lost
    for key in ledger:
        if key not in known:
            problems.append('ledger has %r, which no client saw succeed' % (key,))
    lost_in = len(shared.lost & set(ledger))
    print('acknowledged calls in the ledger as answered  %d of %d' %
          (len(shared.acknowledged) - sum(1 for p in problems if p.startswith('acknowledged')),
           len(shared.acknowledged)))
    print('refused calls absent from the ledger          %d of %d' %
          (len(shared.refused) - sum(1 for p in problems if p.startswith('refused')),
           len(shared.refused)))
    print('raced keys and holds, one entry each          %d' % len(shared.race_results))
    print('calls cut by the crash (either way is right)  %d (%d committed)' % (len(shared.lost), lost_in))
    for p in problems[:20]:
        print('  ' + p)
    return not problems


def summary(shared, clients, seconds):
    total = sum(shared.outcomes.values())
    by_state = collections.Counter()
    for (op, outcome), n in shared.outcomes.items():
        by_state[outcome] += n
    print('%d clients, %.1f s: %d calls, %.0f calls/s' % (clients, seconds, total, total / seconds))
    print('outcomes: ' + ', '.join('%s %d' % kv for kv in sorted(by_state.items())))
    print('verify() during the run: %d times' % shared.verifications)
    for name in sorted({op for op, _ in shared.outcomes}):
        row = sorted((o, n) for (op, o), n in shared.outcomes.items() if op == name)
        print('  %-17s %s' % (name, ', '.join('%s %d' % kv for kv in row)))


def prepare(args):
    """The operations this build can run, with what they need set up."""
    conn = connect(args.dsn, time.time() + 30)
    with conn.cursor() as cur:
        cur.execute("SELECT proname FROM pg_proc WHERE pronamespace = 'credit_ledger'::regnamespace")
        functions = {r[0] for r in cur.fetchall()}
        args.operations = [n for n, (_, _, f) in OPERATIONS.items() if f is None or f in functions]
        for name in args.operations:
            if name in SETUP:
                cur.execute(SETUP[name])
    conn.close()
    print('operations: ' + ', '.join(args.operations))


def run(args):
    prepare(args)
    shared = Shared(list(range(1, args.accounts + 1)))
    start = time.time()
    deadline = start + args.seconds
    clients = [Client(i, args, shared, deadline) for i in range(args.clients)]
    stop = threading.Event()
    helpers = [threading.Thread(target=f, args=(args, shared, deadline, stop), daemon=True)
               for f in (sweeper, verifier)]
    for t in helpers + clients:
        t.start()
    for c in clients:
        c.join()
    stop.set()
    for t in helpers:
        t.join()
    elapsed = time.time() - start
    summary(shared, args.clients, elapsed)
    conn = connect(args.dsn, time.time() + 30)
    with conn.cursor() as cur:
        matches = compare_with_ledger(cur, shared)
        holds = check_invariants(cur)
    for p in shared.problems:
        print('problem: ' + p)
    print('undocumented errors or wrong answers: %d' % len(shared.problems))
    # Findings that a later call repairs show only here (the draw over eight or
    # more buckets did): shown always, failing with --strict.
    for rows, entries in shared.midrun[:3]:
        print('verify() mid-run: %r' % (rows,))
        for entry in entries:
            print('  entry %r' % (entry,))
    print('verify() mid-run findings: %d' % len(shared.midrun))
    return matches and holds and not shared.problems and not (args.strict and shared.midrun)


def check(args):
    conn = connect(args.dsn, time.time() + 30)
    with conn.cursor() as cur:
        return check_invariants(cur)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('mode', choices=('run', 'check'))
    parser.add_argument('--dsn', required=True)
    parser.add_argument('--clients', type=int, default=16)
    parser.add_argument('--seconds', type=float, default=25)
    parser.add_argument('--accounts', type=int, default=4)
    parser.add_argument('--sweep-every', type=float, default=0.1)
    parser.add_argument('--crash-tolerant', action='store_true',
                        help='a broken connection is expected: reconnect and go on')
    parser.add_argument('--across-update', action='store_true',
                        help='ALTER EXTENSION UPDATE runs during the load: retry a call once '
                             'whose function it replaced under it')
    parser.add_argument('--seed', type=int, default=int(time.time()) % 100000)
    parser.add_argument('--strict', action='store_true',
                        help='fail when verify() during the load found anything')
    parser.add_argument('--verify-each', action='store_true',
                        help='verify() the account after every call (to find the call that breaks it)')
    args = parser.parse_args()
    print('seed %d' % args.seed)
    ok = run(args) if args.mode == 'run' else check(args)
    print('PASS' if ok else 'FAIL')
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
