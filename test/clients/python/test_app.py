"""Tests of app.py against a real server (test/clients.sh starts one and sets
PGHOST, PGPORT, PGUSER, PGDATABASE). Run: /usr/bin/python3 test_app.py"""
import re
import threading
import time
import unittest

import psycopg

import app

BIG = 9007199254740993  # 2^53 + 1: a double cannot hold it


class AppTest(unittest.TestCase):
    def setUp(self):
        self.conn = app.connect()

    def tearDown(self):
        self.conn.close()

    def one(self, sql, params=()):
        return self.conn.execute(sql, params).fetchone()[0]

    def available(self, account_id):
        return self.one("SELECT available FROM credit_ledger.balance(%s)", (account_id,))

    def test_charge_commits_with_the_insert(self):
        app.top_up(self.conn, 1001, 1000, "pay-1001")
        res = app.save_answer(self.conn, 1001, "req-1", "hi", "hello", 1000, 500)
        # 1000 input x 0.15 + 500 output x 0.6 credits per token
        self.assertEqual((res.amount, res.balance, res.replayed), (450, 550, False))
        self.assertEqual(self.one("SELECT credits FROM chat_message WHERE request_id = 'req-1'"), 450)
        again = app.save_answer(self.conn, 1001, "req-1", "hi", "hello", 1000, 500)
        self.assertEqual((again.replayed, again.entry_id, again.balance), (True, res.entry_id, 550))
        self.assertEqual(self.one("SELECT count(*) FROM chat_message WHERE account_id = 1001"), 1)

    def test_rollback_undoes_charge_and_insert(self):
        app.top_up(self.conn, 1002, 1000, "pay-1002")
        with self.assertRaises(psycopg.errors.CheckViolation):  # the INSERT fails after the charge
            app.save_answer(self.conn, 1002, "req-long", "hi", "x" * 1001, 1000, 500)
        self.assertEqual(self.available(1002), 1000)
        self.assertEqual(self.one("SELECT count(*) FROM chat_message WHERE request_id = 'req-long'"), 0)
        self.assertEqual(self.one("""SELECT count(*) FROM credit_ledger.history(1002)
                                     WHERE event_id = 'req-long'"""), 0)

    def test_retry_on_40001(self):
        app.top_up(self.conn, 1003, 100, "pay-1003")
        holder = app.connect()
        spender = app.connect()
        try:
            holder.execute("BEGIN")
            holder.execute("SELECT credit_ledger.deduct(1003, 1, 'holder')")  # holds the account lock
            attempts, out = [], {}

            def attempt(c):
                attempts.append(1)
                return app.spend_once(c, 1003, 5, "rr-1")   # balance read (the snapshot), then deduct

            t = threading.Thread(target=lambda: out.update(res=app.with_retry(spender, attempt)))
            t.start()
            pid = spender.info.backend_pid
            waited = False
            for _ in range(100):
                if self.one("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                            (pid,)):
                    waited = True
                    break
                time.sleep(0.1)
            self.assertTrue(waited, "the deduct under REPEATABLE READ waits for the lock")
            holder.execute("COMMIT")  # the waiter now fails with 40001, and is retried
            t.join(30)
            self.assertEqual(len(attempts), 2)
            self.assertEqual((out["res"].amount, out["res"].balance, out["res"].replayed), (5, 94, False))
        finally:
            holder.close()
            spender.close()

    def test_branch_on_sqlstate_with_detail(self):
        app.top_up(self.conn, 1004, 100, "pay-1004")
        self.assertEqual(app.buy(self.conn, 1004, 5000, "big"),
                         (402, "Account 1004: available 100, requested 5000, credit limit 0."))
        status, res = app.buy(self.conn, 1004, 30, "b1")
        self.assertEqual((status, res.amount, res.replayed), (200, 30, False))
        self.assertEqual(app.buy(self.conn, 1004, 999, "b1"),
                         (409, 'Account 1004, event_id "b1": amount was 30, now 999.'))
        status, res = app.buy(self.conn, 1004, 30, "b1")
        self.assertEqual((status, res.replayed, res.balance), (200, True, 70))
        with self.assertRaises(psycopg.Error) as e:  # not a refusal the handler knows: raised
            app.buy(self.conn, 1004, 0, "zero")
        self.assertEqual(e.exception.sqlstate, "22023")

    def test_streamed_call_through_a_hold(self):
        app.top_up(self.conn, 1005, 1000, "pay-1005")
        text, res = app.stream_answer(self.conn, 1005, "s1", 300, iter(["tok "] * 40), input_tokens=200)
        self.assertEqual(text, "tok " * 40)
        # 200 x 0.15 + 40 x 0.6 = 54, the other 246 of the hold came back
        self.assertEqual((res.amount, res.balance, res.reserved, res.available), (54, 946, 0, 946))
        self.assertEqual(self.one("SELECT kind FROM credit_ledger.history(1005, 1)"), "confirm")

        def broken():
            yield from ["tok "] * 10
            raise app.StreamInterrupted("client went away")
        with self.assertRaises(app.StreamInterrupted):
            app.stream_answer(self.conn, 1005, "s2", 300, broken(), input_tokens=200)
        self.assertEqual(self.one("SELECT balance || '/' || reserved FROM credit_ledger.balance(1005)"), "946/0")
        self.assertEqual(self.one("SELECT kind FROM credit_ledger.history(1005, 1)"), "cancel")
        self.assertEqual(self.one("SELECT count(*) FROM credit_ledger.pending_holds WHERE account_id = 1005"), 0)

    def test_agent_turn_captured_as_it_goes(self):
        app.top_up(self.conn, 1011, 5000, "pay-1011")
        res = app.agent_turn(self.conn, 1011, "t1", 2000, [300, 450, 250, 200])
        # 1,200 captured, the other 800 of the budget came back
        self.assertEqual((res.amount, res.balance, res.reserved, res.available, res.replayed),
                         (200, 3800, 0, 3800, False))
        self.assertEqual(self.one("""SELECT string_agg(kind || ' ' || amount, ', ' ORDER BY entry_id)
                                     FROM credit_ledger.history(1011) WHERE hold_id IS NOT NULL"""),
                         "reserve 0, capture -300, capture -450, capture -250, capture -200")
        again = app.agent_turn(self.conn, 1011, "t1", 2000, [300, 450, 250, 200])
        self.assertEqual((again.replayed, again.entry_id, again.balance), (True, res.entry_id, 3800))
        self.assertEqual(self.available(1011), 3800)

    def test_op_result_by_column_name(self):
        app.top_up(self.conn, 1006, 100, "pay-1006")
        res = app.call(self.conn, "SELECT * FROM credit_ledger.deduct(%s, %s, %s)", (1006, 40, "d1"))
        self.assertIsInstance(res, app.OpResult)
        self.assertGreater(res.entry_id, 0)
        self.assertIsNone(res.hold_id)
        self.assertEqual((res.account_id, res.amount, res.balance, res.reserved, res.available, res.replayed),
                         (1006, 40, 60, 0, 60, False))
        hold = app.call(self.conn, "SELECT * FROM credit_ledger.reserve(1006, 10, 'h1')")
        self.assertIsInstance(hold.hold_id, int)
        self.assertEqual((hold.reserved, hold.available), (10, 50))

    def test_bigint_past_2_53(self):
        res = app.top_up(self.conn, BIG, 100, "pay-big")
        self.assertEqual(res.account_id, BIG)
        status, res = app.buy(self.conn, BIG, 1, "big-1")
        self.assertEqual((status, res.account_id, res.balance), (200, BIG, 99))
        self.assertEqual(self.one("SELECT account_id::text FROM credit_ledger.history(%s, 1)", (BIG,)),
                         "9007199254740993")
        with self.assertRaises(psycopg.Error) as e:  # 2^53, where a double would have rounded BIG
            self.one("SELECT available FROM credit_ledger.balance(%s)", (BIG - 1,))
        self.assertEqual(e.exception.sqlstate, "LD002")

    def test_jsonb_metadata_round_trip(self):
        meta = {"model": "gpt-4o-mini", "tokens": {"in": 12, "out": 34}, "tags": ["a", "b"],
                "note": "ünïcødé ✓", "trace": None, "ratio": 0.5}
        app.top_up(self.conn, 1008, 100, "pay-1008")
        status, _ = app.buy(self.conn, 1008, 1, "m1", metadata=meta)
        self.assertEqual(status, 200)
        self.assertEqual(self.one("SELECT metadata FROM credit_ledger.history(1008, 1)"), meta)
        self.assertEqual(self.one("SELECT metadata->'tokens'->>'out' FROM credit_ledger.history(1008, 1)"), "34")

    def test_listen_reacts_to_balance_low(self):
        app.top_up(self.conn, 1009, 150, "pay-1009")
        self.conn.execute("SELECT credit_ledger.set_alert(1009, 100)")
        lows = []
        listen_conn = app.connect()
        try:
            listener = app.LowBalanceListener(listen_conn, "mailer",
                                              lambda p: lows.append(p) if p.get("threshold") == 100 else None)
            t = threading.Thread(target=listener.run, args=(lambda: len(lows) > 0,))
            t.start()
            app.buy(self.conn, 1009, 60, "low-1")  # available 150 -> 90, below 100
            t.join(30)
            self.assertEqual(len(lows), 1)
            self.assertEqual((lows[0]["available_before"], lows[0]["available_after"], lows[0]["threshold"]),
                             (150, 90, 100))
            self.assertTrue(any(re.fullmatch(r"\d+ 1009 balance\.low", n) for n in listener.notifications),
                            listener.notifications)
            # acknowledged: polled again, nothing is left for this consumer
            self.assertEqual(self.one("SELECT count(*) FROM credit_ledger.poll_events('mailer')"), 0)
            app.buy(self.conn, 1009, 10, "low-2")  # still below: no second crossing
            self.assertEqual(self.one("""SELECT count(*) FROM credit_ledger.events
                                         WHERE account_id = 1009 AND kind = 'balance.low'"""), 1)
        finally:
            listen_conn.close()

    def test_payment_webhook_retried_grants_once(self):
        app.top_up(self.conn, 1010, 100, "pay-1010")
        credits = self.one("SELECT credits FROM credit_ledger.products WHERE sku = 'pack-500'")  # test/clients.sh's
        order = app.create_order(self.conn, 1010, "pack-500", 2, "ord-1010")
        self.assertEqual((order.status, order.credits, order.amount_minor, order.currency),
                         ("pending", 2 * credits, 998, "USD"))
        # a wrong amount: refused with the DETAIL, and nothing changes
        self.assertEqual(app.payment_webhook(self.conn, "ord-1010", "pi_1010", 500, "USD"),
                         (409, 'Order "ord-1010": paid 500, the order is 998 USD.'))
        self.assertEqual(self.one("SELECT status FROM credit_ledger.orders WHERE order_no = 'ord-1010'"), "pending")
        self.assertEqual(self.available(1010), 100)

        # the first delivery and a retry at once, from two connections; a third
        # holds the account's lock until both are waiting, so they overlap
        blocker, hooks = app.connect(), [app.connect(), app.connect()]
        try:
            blocker.execute("BEGIN")
            blocker.execute("SELECT credit_ledger.grant_credits(1010, 1, 'blocker')")
            answers = []
            threads = [threading.Thread(target=lambda c=c: answers.append(
                app.payment_webhook(c, "ord-1010", "pi_1010", 998, "USD"))) for c in hooks]
            for t in threads:
                t.start()
            pids = [c.info.backend_pid for c in hooks]
            for _ in range(100):
                if self.one("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND wait_event_type = 'Lock'",
                            (pids,)) == 2:
                    break
                time.sleep(0.1)
            else:
                self.fail("the two deliveries did not both wait")
            blocker.execute("ROLLBACK")
            for t in threads:
                t.join(30)
        finally:
            for c in [blocker, *hooks]:
                c.close()
        # then three more, one after the other
        for _ in range(3):
            answers.append(app.payment_webhook(self.conn, "ord-1010", "pi_1010", 998, "USD"))
        self.assertEqual([status for status, _ in answers], [200] * 5)
        self.assertEqual({(o.status, o.payment_ref, o.grant_entry_id) for _, o in answers},
                         {("paid", "pi_1010", answers[0][1].grant_entry_id)})
        self.assertEqual(self.one("""SELECT count(*) FROM credit_ledger.entries
                                     WHERE event_id = 'order:ord-1010'"""), 1)
        self.assertEqual(self.available(1010), 100 + 2 * credits)


if __name__ == "__main__":
    unittest.main(verbosity=2)
