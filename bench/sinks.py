"""The remote world of a benchmark: mta-sink (ours: counts, Message-ID
loss/duplicate check) or Postfix's smtp-sink (for the tool comparison)."""
import json
import os
import signal
import subprocess
import tempfile
import time

import measure


class MtaSink:
    """mta-sink on a free loopback port; stop() returns its JSON counts."""

    def __init__(self, bindir, *args, port=None):
        self.port = port or measure.free_port()
        self.err = tempfile.TemporaryFile()
        cmd = [os.path.join(bindir, "mta-sink"), "-l", "127.0.0.1:%d" % self.port,
               "--json", "--timeout", "60"] + list(args)
        # A sink started again on the same port may find the old listener
        # still closing (io_uring tears down asynchronously): retry a while.
        for _ in range(50):
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                         stderr=self.err)
            if measure.wait_greeting(self.port, 2):
                return
            self.kill()
            time.sleep(0.1)
        raise RuntimeError("mta-sink did not start")

    def pid(self):
        return self.proc.pid

    def counts(self):
        """The running counts (SIGUSR1 makes it print them on stderr)."""
        before = self.err.seek(0, os.SEEK_END)
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(200):
            time.sleep(0.01)
            self.err.seek(before)
            for line in reversed(self.err.read().splitlines()):
                if line.startswith(b"{"):
                    return json.loads(line)
        raise RuntimeError("mta-sink did not report its counts")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class SmtpSink:
    """Postfix's smtp-sink (as user postfix: it refuses to run as root)."""

    def __init__(self):
        self.port = measure.free_port()
        cmd = ["smtp-sink", "-c", "127.0.0.1:%d" % self.port, "1000"]
        if os.geteuid() == 0:
            cmd[1:1] = ["-u", "postfix"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not measure.wait_greeting(self.port, 10):
            self.kill()
            raise RuntimeError("smtp-sink did not start")

    def pid(self):
        return self.proc.pid

    def stop(self):
        self.kill()
        return {}

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
