"""spool/pool/: finished queue files are recycled instead of unlinked and
the writer overwrites them for new messages (queue/qmgr_pool.c explains
why).  Proved here with inode numbers: after a first batch is relayed,
the second batch's queue files are the first batch's inodes.  Files over
64 KiB are unlinked, never pooled; a pool file is never taken for mail,
not even after a restart, and pool garbage is overwritten cleanly."""
import os
import time

from mtatest import MtaTestCase
from relayfix import (DEST_DOMAIN, Sink, make_message, message_id, relay_mta,
                      send_messages, wait_queue_empty, wait_until)


def pool_inodes(m):
    d = m.spool("pool")
    return {os.stat(os.path.join(d, f)).st_ino for f in os.listdir(d)}


class SpoolPool(MtaTestCase):

    def relay(self, m, sink, tag, n, size=0):
        msgs = [make_message(tag, i, size=size) for i in range(n)]
        qids = send_messages(m, msgs, rcpts=lambda i: ["p%d@%s" % (i, DEST_DOMAIN)])
        return msgs, qids

    def test_inodes_are_reused_and_pool_is_not_mail(self):
        sink = Sink(self, store=True)
        m = relay_mta(self, relayhost=sink.hop, queue_checkpoint_ms=50)
        first, _ = self.relay(m, sink, "first", 10)
        sink.wait_messages(10, fail=m.fail)
        wait_queue_empty(m)
        pooled = wait_until(lambda: pool_inodes(m) if len(pool_inodes(m)) == 10
                            else None, 20, "10 files in pool/", m.fail)
        # Hold the second batch so its files stay in incoming/ to look at.
        sink.stop()
        # The writer found pool/ empty while the first batch was in flight
        # and looks again only 100 ms later (POOL_RETRY_MS); meanwhile it
        # creates files, as it should.  Let that window pass.
        time.sleep(0.3)
        second, qids = self.relay(m, sink, "second", 5)
        reused = {os.stat(m.queue_path(q)).st_ino for q in qids
                  if m.queue_path(q) is not None}
        self.assertTrue(reused and reused <= pooled,
                        "new queue files %s are not pool inodes %s" % (reused, pooled))
        # Pool files are garbage, not mail: a restart delivers none of them.
        m.stop()
        junk = os.path.join(m.spool("pool"), "0000000000000001")
        with open(junk, "wb") as f:
            f.write(b"MTAQ 1\nnot a queue file\n" * 500)
        st = os.stat(m.spool("pool"))
        os.chown(junk, st.st_uid, st.st_gid)
        sink.restart()
        m.start()
        m.ctl("flush")
        got = sink.wait_messages(15, fail=m.fail)
        ids = [message_id(r) for r in got]
        self.assertEqual(sorted(ids), sorted(message_id(d) for d in first + second))
        wait_queue_empty(m)
        m.stop()

    def test_a_longer_pool_file_is_cut_to_the_new_message(self):
        """A pool file is overwritten in place (or truncated first, on a
        kernel without ftruncate on the ring): the queue file written over
        a longer one ends where the new message ends, with nothing of the
        old bytes, and is delivered whole."""
        sink = Sink(self, store=True)
        m = relay_mta(self, relayhost=sink.hop, queue_checkpoint_ms=50)
        m.stop()
        junk = os.path.join(m.spool("pool"), "0000000000000001")
        with open(junk, "wb") as f:
            f.write(b"Z" * (60 * 1024))
        st = os.stat(m.spool("pool"))
        os.chown(junk, st.st_uid, st.st_gid)
        inode = os.stat(junk).st_ino
        sink.stop()
        m.start()
        msgs, qids = self.relay(m, sink, "cut", 1)
        # 250 follows the journal; the queue file is written just after.
        path = wait_until(lambda: m.queue_path(qids[0]), 20,
                          "the queue file of %s" % qids[0], m.fail)
        self.assertEqual(os.stat(path).st_ino, inode, "the pool file was not used")
        with open(path, "rb") as f:
            data = f.read()
        self.assertLess(len(data), 20 * 1024)
        self.assertNotIn(b"ZZZZ", data)
        sink.restart()
        m.ctl("flush")
        got = sink.wait_messages(1, fail=m.fail)
        self.assertEqual([message_id(r) for r in got], [message_id(msgs[0])])
        wait_queue_empty(m)
        m.stop()

    def test_large_files_are_not_pooled(self):
        sink = Sink(self, store=True)
        m = relay_mta(self, relayhost=sink.hop, queue_checkpoint_ms=50)
        _, qids = self.relay(m, sink, "big", 3, size=100 * 1024)
        sink.wait_messages(3, fail=m.fail)
        wait_queue_empty(m)
        # Once the watermark passed them they are unlinked, not pooled.
        for q in qids:
            m.wait_log(r"%s: removed" % q, timeout=20)
        self.assertEqual(pool_inodes(m), set())
        m.stop()
