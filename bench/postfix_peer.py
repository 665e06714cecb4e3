"""A private Postfix instance on loopback ports, for side-by-side benchmarks.

It lives entirely in a temp directory (config, queue, data, log), listens on
127.0.0.1:PORT only, relays everything to [127.0.0.1]:SINKPORT with DNS off,
and never touches the system's Postfix configuration or port 25.  Needs root
(Postfix's master insists) and the Debian postfix package.  With maildir=
it also delivers one domain (MAILDIR_DOMAIN) to Maildirs under {d}/mail
with its virtual(8) agent, the way a mailbox host would.
"""
import os
import re
import shutil
import subprocess
import time

import measure

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = peer.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
maillog_file_prefixes = {d}
maillog_file = {d}/maillog
alias_maps =
alias_database =
local_recipient_maps =
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_client_restrictions = {client_restrictions}
default_process_limit = 500
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
message_size_limit = 52428800
{transport}
{maildir}
{tls}
"""

# With tls=: STARTTLS offered on the relay port; the smtps service
# (master.cf) requires AUTH, checked by a private Dovecot auth service
# (DOVECOT_AUTH_CONF) listening on {d}/queue/private/auth.
TLS_CF = """\
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
"""

SMTPS_SERVICE = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
"""

DOVECOT_AUTH_CONF = """\
protocols = none
base_dir = {d}/dovecot-run
state_dir = {d}/dovecot-state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {d}/sasl-passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}}
service auth {{
  unix_listener {d}/queue/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
"""

MAILDIR_DOMAIN = "bench.local"
# virtual(8): every listed user gets {d}/mail/<user>/Maildir/ (the trailing
# slash means Maildir), owned by one unprivileged uid.
MAILDIR_CF = """\
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = texthash:{d}/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
virtual_mailbox_limit = 0
"""


def ensure_installed():
    """Install Debian's postfix without letting it configure a system mailer."""
    if shutil.which("postfix") and shutil.which("smtp-source"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run("echo 'postfix postfix/main_mailer_type select No configuration'"
                   " | debconf-set-selections", shell=True, check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postfix"], env=env,
                   check=True, stdout=subprocess.DEVNULL)


class PostfixPeer:
    name = "postfix"

    def __init__(self, workdir, port, sink_port, hold=False, transport=None,
                 maildir=None, tls=None):
        """hold: accept durably and keep every message in the hold queue
        (acceptance only, like ours before delivery exists); otherwise
        relay everything to the sink.  maildir: (users, uid, gid): deliver
        user@MAILDIR_DOMAIN for each of users to its Maildir as uid:gid.
        tls: {"cert", "key", "smtps_port"}: STARTTLS and an smtps service
        with AUTH (start the SASL side with sasl_start after start)."""
        self.dir = os.path.join(workdir, "postfix")
        self.port = port
        self.sink_port = sink_port
        self.hold = hold
        self.transport = transport
        self.maildir = maildir
        self.tls = tls
        self.sasl = None

    def maildir_path(self, user):
        """The Maildir virtual(8) delivers user@MAILDIR_DOMAIN to."""
        return os.path.join(self.dir, "mail", user, "Maildir")

    def _maildir_cf(self):
        if not self.maildir:
            return ""
        users, uid, gid = self.maildir
        mail = os.path.join(self.dir, "mail")
        os.makedirs(mail, exist_ok=True)
        os.chown(mail, uid, gid)
        with open(os.path.join(self.dir, "vmailbox"), "w") as f:
            for u in users:
                f.write("%s@%s %s/Maildir/\n" % (u, MAILDIR_DOMAIN, u))
        return MAILDIR_CF.format(d=self.dir, domain=MAILDIR_DOMAIN, uid=uid, gid=gid)

    def _master_cf(self):
        out = []
        with open("/etc/postfix/master.cf") as f:
            for line in f:
                if re.match(r"^smtp\s+inet\s", line):
                    line = "127.0.0.1:%d inet n - n - - smtpd\n" % self.port
                elif re.match(r"^\S+\s+(unix|inet|fifo|pass|unix-dgram)\s", line):
                    # No chroot: the private queue dir has no etc/ copies.
                    f5 = line.split()
                    if len(f5) >= 8:
                        f5[4] = "n"
                        line = " ".join(f5) + "\n"
                out.append(line)
        if not any(l.startswith("postlog") for l in out):
            out.append("postlog unix-dgram n - n - 1 postlogd\n")
        if self.tls:
            out.append(SMTPS_SERVICE.format(port=self.tls["smtps_port"]))
        return "".join(out)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        # Postfix daemons run as the postfix user and must traverse to here.
        d = self.dir
        while d not in ("/", ""):
            os.chmod(d, os.stat(d).st_mode | 0o711)
            d = os.path.dirname(d)
        for sub in ("queue", "data"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(
                d=self.dir, sink_port=self.sink_port,
                transport="transport_maps = texthash:%s" % self.transport
                if self.transport else "",
                client_restrictions="check_client_access static:HOLD"
                if self.hold else "", maildir=self._maildir_cf(),
                tls=TLS_CF.format(**self.tls) if self.tls else ""))
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(self._master_cf())
        shutil.chown(os.path.join(self.dir, "data"), "postfix", "postfix")
        subprocess.run(["postfix", "-c", self.dir, "set-permissions"],
                       check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["postfix", "-c", self.dir, "start"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if measure.wait_greeting(self.port, 15):
            return
        raise RuntimeError("postfix did not start; see %s/maillog" % self.dir)

    def pid(self):
        """The master's pid: its tree holds every process of the instance."""
        with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
            return int(f.read().strip())

    def flush(self):
        """Retry every deferred message now (postqueue -f)."""
        subprocess.run(["postqueue", "-c", self.dir, "-f"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def queue_count(self):
        n = 0
        for sub in ("incoming", "active", "deferred", "maildrop", "hold"):
            for _, _, files in os.walk(os.path.join(self.dir, "queue", sub)):
                n += len(files)
        return n

    def sasl_start(self, user, crypt_hash):
        """The smtps service's AUTH: a private Dovecot auth service that
        knows user with crypt_hash (SHA-512-crypt)."""
        for sub in ("dovecot-run", "dovecot-state"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        passwd = os.path.join(self.dir, "sasl-passwd")
        with open(passwd, "w") as f:
            f.write("%s:{SHA512-CRYPT}%s\n" % (user, crypt_hash))
        os.chmod(passwd, 0o600)
        shutil.chown(passwd, "dovecot")     # its auth process reads it
        conf = os.path.join(self.dir, "dovecot-auth.conf")
        with open(conf, "w") as f:
            f.write(DOVECOT_AUTH_CONF.format(d=self.dir))
        sock = os.path.join(self.dir, "queue", "private", "auth")
        if os.path.exists(sock):
            os.unlink(sock)             # a stale one from the last start
        self.sasl = subprocess.Popen(["dovecot", "-F", "-c", conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(sock):
                return
            time.sleep(0.05)
        raise RuntimeError("dovecot auth did not start; see %s/dovecot.log"
                           % self.dir)

    def stop(self):
        if self.sasl is not None and self.sasl.poll() is None:
            self.sasl.terminate()
            self.sasl.wait(30)
        self.sasl = None
        subprocess.run(["postfix", "-c", self.dir, "stop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
