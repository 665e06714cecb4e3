"""Our MTA started from build/bin in a temp state_dir, for benchmarks."""
import os
import signal
import subprocess

import measure

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class OurMTA:
    name = "mta"

    def __init__(self, workdir, port, sink_port, build="build", extra="",
                 pop3_port=None, smtps_port=None):
        self.dir = os.path.join(workdir, "mta")
        self.pop3_port = pop3_port
        self.smtps_port = smtps_port
        self.port = port
        self.sink_port = sink_port
        self.bin = os.path.join(TOP, build, "bin")
        self.extra = extra
        self.proc = None

    def conf_path(self):
        return os.path.join(self.dir, "mta.conf")

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        measure.traversable(self.dir)   # users_file and mail/ are opened by name
        measure.raise_nofile(20000)
        with open(self.conf_path(), "w") as f:
            f.write("hostname = mta.bench.test\n"
                    "state_dir = %s/var\n"
                    "smtp_listen = 127.0.0.1:%d\n"
                    "submission_listen =\nsmtps_listen = %s\n"
                    "pop3_listen = %s\npop3s_listen =\n"
                    "relayhost = [127.0.0.1]:%d\n%s"
                    % (self.dir, self.port,
                       "127.0.0.1:%d" % self.smtps_port if self.smtps_port else "",
                       "127.0.0.1:%d" % self.pop3_port if self.pop3_port else "",
                       self.sink_port, self.extra))
        self.log = open(os.path.join(self.dir, "mta.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, "mta-master"), "-F", "-c", self.conf_path()],
            stdout=self.log, stderr=subprocess.STDOUT)
        started = measure.wait_greeting(self.port, 60)
        if started:
            return started
        with open(os.path.join(self.dir, "mta.log"), errors="replace") as f:
            raise RuntimeError("mta did not start:\n" + f.read()[-2000:])

    def pid(self):
        return self.proc.pid

    def state_dir(self):
        return os.path.join(self.dir, "var")

    def mtactl(self, *args, stdin=None):
        """Run mtactl against this instance; the CompletedProcess."""
        return subprocess.run([os.path.join(self.bin, "mtactl"), "-c",
                               self.conf_path()] + list(args), input=stdin,
                              capture_output=True, text=True)

    def flush(self):
        """Retry every deferred message now."""
        subprocess.run([os.path.join(self.bin, "mtactl"), "-c", self.conf_path(),
                        "flush"], check=True, stdout=subprocess.DEVNULL)

    def queue_count(self):
        n = 0
        for sub in ("incoming", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.dir, "var", "spool", sub)):
                n += len(files)
        return n

    def kill9(self):
        for p in measure.tree(self.proc.pid):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill9()
