"""A private Dovecot pop3d on a loopback port, for the POP3 comparison.

Everything lives in a temp directory (config, base_dir, state, log, the
passwd-file): `dovecot -F -c private.conf`, POP3 only, no TLS, plaintext
login allowed, one account served from a given Maildir as the Maildir's
owner.  Never reads or changes /etc/dovecot.  Needs root and the Debian
dovecot-pop3d package (installed here with apt-get when missing).
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import measure

CONF = """\
protocols = pop3
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{maildir}
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def ensure_installed():
    """apt-get install dovecot-pop3d if dovecot is missing (the package's
    own service is not started in this container: policy-rc.d)."""
    if shutil.which("dovecot"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "dovecot-pop3d"], env=env,
                   check=True, stdout=subprocess.DEVNULL)


def wait_pop3_greeting(port, timeout):
    """Wait until 127.0.0.1:port greets with +OK; True if it did."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as s:
                if s.recv(200).startswith(b"+OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class DovecotPeer:
    name = "dovecot"

    def __init__(self, workdir, port, maildir, address, crypt_hash):
        """Serve the Maildir maildir to address (password hash crypt_hash,
        SHA-512-crypt) as the Maildir's owner."""
        self.dir = os.path.join(workdir, "dovecot")
        self.port = port
        self.maildir = maildir
        self.address = address
        self.hash = crypt_hash
        self.proc = None

    def start(self):
        st = os.stat(self.maildir)
        for sub in ("", "state", "home"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.chown(os.path.join(self.dir, "home"), st.st_uid, st.st_gid)
        measure.traversable(self.dir)
        measure.traversable(self.maildir)
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            f.write("%s:{SHA512-CRYPT}%s\n" % (self.address, self.hash))
        os.chmod(passwd, 0o600)
        shutil.chown(passwd, "dovecot")     # its auth process reads it
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(d=self.dir, uid=st.st_uid, gid=st.st_gid,
                                maildir=self.maildir, port=self.port))
        self.log = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if wait_pop3_greeting(self.port, 20):
            return
        self.stop()
        raise RuntimeError("dovecot did not start; see %s/dovecot.log" % self.dir)

    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
