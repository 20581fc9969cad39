#!/usr/bin/env python3
"""Starts and stops the whole SSO stack on 127.0.0.1: memcached, AccountsFCGI, AppAuthFCGI, two echo apps and nginx
(or Apache httpd). Used by scripts/demo (fixed HTTPS port 8443, runs until Ctrl-C/SIGTERM) and by the end-to-end tests
(free ports, a fresh state folder each). Standard library only.

The web-server config is the project's own nginx/ (or apache/) files, rendered with this run's paths and ports: the
example site names /etc/nginx/sso/, /etc/ssl/sso-demo/, /run/sso/, port 8443 and app ports 8081/8082, and only those
strings are replaced.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = ["accounts.iqueue.test", "infusion.iqueue.test", "dextor.leantaas.test"]
DEMO_USERS = [
    # username, password, name, email, services
    ("alice", "wonderland", "Alice Liddell", "alice@iqueue.test", ["infusion", "dextor"]),
    ("bob", "builder", "Bob Builder", "bob@iqueue.test", ["infusion"]),
]

# Apache httpd runs from a standalone httpd.conf that loads exactly these modules (Debian's module folder).
APACHE_MODULES = ["mpm_event", "authn_core", "authz_core", "authz_user", "mime", "env", "alias", "rewrite", "headers",
                  "setenvif", "socache_shmcb", "ssl", "proxy", "proxy_http", "proxy_fcgi", "authnz_fcgi"]
APACHE_MODULE_DIR = Path("/usr/lib/apache2/modules")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(check, what, timeout=20.0, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            tail = Path(log).read_text(errors="replace")[-3000:] if log and Path(log).exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting:\n{tail}")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout} s")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


class Stack:
    """One running stack. `overrides` tweak the generated config (short timeouts for tests)."""

    def __init__(self, state_dir, bin_dir, https_port=None, server="nginx", config_file=None, overrides=None,
                 log_level="info", extra_http=""):
        self.state = Path(state_dir).resolve()
        self.bin = Path(bin_dir).resolve()
        self.server = server
        self.https_port = https_port or free_port()
        # The demo's memcached is on 11211 when free, so a user's own config (scripts/demo --config) can name it.
        self.memcached_port = 11211 if (https_port == 8443 and not port_in_use(11211)) else free_port()
        self.app_ports = {"infusion": free_port(), "dextor": free_port()}
        self.user_config = Path(config_file).resolve() if config_file else None
        self.overrides = overrides or {}
        self.log_level = log_level
        self.extra_http = extra_http  # more nginx config for the http block (scripts/bench adds its server there)
        self.procs = {}
        for sub in ("pki", "keys", "run", "logs", "web"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        self.ca = self.state / "pki" / "ca.crt"
        self.config_path = self.user_config or self.state / "sso.yaml"
        self.accounts_socket = self.state / "run" / "accounts.sock"
        self.appauth_socket = self.state / "run" / "appauth.sock"
        self.appauth_tcp = free_port()
        self.accounts_tcp = free_port()
        # overrides["memcached_unix"]: memcached on a unix socket instead of TCP (scripts/bench --memcached unix).
        self.memcached_socket = self.state / "run" / "memcached.sock" if self.overrides.get("memcached_unix") else None

    # ---- URLs

    def origin(self, host):
        return f"https://{host}:{self.https_port}"

    @property
    def accounts(self):
        return self.origin("accounts.iqueue.test")

    @property
    def infusion(self):
        return self.origin("infusion.iqueue.test")

    @property
    def dextor(self):
        return self.origin("dextor.leantaas.test")

    # ---- files

    def make_pki(self):
        pki = self.state / "pki"
        if (pki / "hosts.crt").exists() and self.ca.exists():
            return
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run(["openssl", "req", "-x509", *ec, "-keyout", pki / "ca.key", "-out", self.ca, "-days", "3650",
             "-subj", "/CN=SSO Demo CA (local, do not trust elsewhere)",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        run(["openssl", "req", *ec, "-keyout", pki / "hosts.key", "-out", pki / "hosts.csr", "-subj", "/CN=" + HOSTS[0]])
        (pki / "ext.cnf").write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            "subjectAltName=" + ",".join("DNS:" + h for h in HOSTS) + "\n")
        run(["openssl", "x509", "-req", "-in", pki / "hosts.csr", "-CA", self.ca, "-CAkey", pki / "ca.key",
             "-CAcreateserial", "-out", pki / "hosts.crt", "-days", "825", "-sha256", "-extfile", pki / "ext.cnf"])
        os.chmod(pki / "hosts.key", 0o644)

    def make_keys(self):
        keys = self.state / "keys"
        if not (keys / "ed25519.pem").exists():
            run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", keys / "ed25519.pem"])
            run(["openssl", "pkey", "-in", keys / "ed25519.pem", "-pubout", "-out", keys / "ed25519.pub.pem"])
        if not (keys / "p256.pem").exists():
            run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keys / "p256.pem"])
            run(["openssl", "pkey", "-in", keys / "p256.pem", "-pubout", "-out", keys / "p256.pub.pem"])

    def hash_password(self, password):
        out = run([self.bin / "AccountsFCGI", "hash-password"], input=(password + "\n").encode())
        return out.stdout.decode().strip()

    def make_users(self):
        users = self.state / "users.yaml"
        if users.exists():
            return
        lines = ["# Demo users: alice/wonderland (infusion, dextor), bob/builder (infusion).", "users:"]
        for name, password, display, email, services in DEMO_USERS:
            lines += [f"  - username: {name}", f"    password_hash: '{self.hash_password(password)}'",
                      f"    name: {display}", f"    email: {email}", f"    services: [{', '.join(services)}]"]
        users.write_text("\n".join(lines) + "\n")

    def make_config(self):
        o = self.overrides
        idle = o.get("idle", {"infusion": 900, "dextor": 1800})
        text = f"""# Generated by scripts/ssostack.py for this run. Relative paths are relative to this file.
accounts_url: "{self.accounts}"
audience: "iqueue-sso"
log_level: {self.log_level}
accounts:
  listen: "unix:{self.accounts_socket}"
  workers: 2
  socket_mode: "0666"
app_auth:
  listen: "unix:{self.appauth_socket}"
  workers: {o.get('appauth_workers', 4)}
  socket_mode: "0666"
memcached:
  servers: ["{self.memcached_socket or f'127.0.0.1:{self.memcached_port}'}"]
  prefix: "sso:"
keys:
  signing_kid: "{o.get('signing_kid', 'ed-1')}"
  list:
    - kid: ed-1
      private_key_file: keys/ed25519.pem
      public_key_file: keys/ed25519.pub.pem
    - kid: es-1
      private_key_file: keys/p256.pem
      public_key_file: keys/p256.pub.pem
sessions:
  lifetime: {o.get('lifetime', 43200)}
  last_access_interval: {o.get('last_access_interval', 60)}
  request_id_ttl: {o.get('request_id_ttl', 60)}
login:
  max_failures: {o.get('max_failures', 5)}
  failure_window: 300
services:
  - name: infusion
    title: Infusion
    origins: ["{self.infusion}"]
    idle_timeout: {idle['infusion']}
  - name: dextor
    title: Dextor
    origins: ["{self.dextor}"]
    idle_timeout: {idle['dextor']}
users_file: users.yaml
request_cache:
  max_body_bytes: {o.get('cache_max_body', 1048576)}
  ttl: {o.get('cache_ttl', 600)}
branding:
  product_name: "iQueue Accounts"
  accent_color: "#2f5bea"
"""
        (self.state / "sso.yaml").write_text(text)

    # ---- processes

    def spawn(self, name, cmd, **kw):
        log = open(self.state / "logs" / f"{name}.log", "ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, **kw)
        self.procs[name] = proc
        return proc

    def log_path(self, name):
        return self.state / "logs" / f"{name}.log"

    def start_memcached(self):
        where = ["-s", str(self.memcached_socket), "-a", "0600"] if self.memcached_socket else \
            ["-l", "127.0.0.1", "-p", str(self.memcached_port)]
        cmd = ["memcached", *where, "-U", "0", "-m", "64", "-t", "2"]
        if os.geteuid() == 0:
            cmd += ["-u", "root"]
        proc = self.spawn("memcached", cmd)
        up = self.memcached_socket.exists if self.memcached_socket else (lambda: port_in_use(self.memcached_port))
        wait_for(up, "memcached", proc=proc, log=self.log_path("memcached"))

    def stop_memcached(self):
        self.terminate("memcached")

    def start_fcgi(self):
        accounts_listen = f"unix:{self.accounts_socket}"
        appauth_listen = f"unix:{self.appauth_socket}"
        if self.server == "apache":
            accounts_listen = f"127.0.0.1:{self.accounts_tcp}"
            appauth_listen = f"127.0.0.1:{self.appauth_tcp}"
        for name, binary, listen in (("accounts", "AccountsFCGI", accounts_listen), ("appauth", "AppAuthFCGI", appauth_listen)):
            proc = self.spawn(name, [self.bin / binary, "--config", self.config_path, "--listen", listen])
            if listen.startswith("unix:"):
                path = Path(listen[5:])
                wait_for(path.exists, binary, proc=proc, log=self.log_path(name))
            else:
                port = int(listen.rsplit(":", 1)[1])
                wait_for(lambda: port_in_use(port), binary, proc=proc, log=self.log_path(name))

    def start_apps(self):
        for name, port in self.app_ports.items():
            proc = self.spawn(f"app-{name}", [sys.executable, ROOT / "scripts" / "echo_app.py", str(port), name])
            wait_for(lambda: port_in_use(port), f"echo app {name}", proc=proc, log=self.log_path(f"app-{name}"))

    def render(self, text):
        web = self.state / "web"
        for old, new in (("/etc/nginx/sso/", f"{web}/sso/"), ("/etc/ssl/sso-demo/", f"{self.state}/pki/"),
                         ("/run/sso/", f"{self.state}/run/"), ("8443", str(self.https_port)),
                         ("127.0.0.1:8081", f"127.0.0.1:{self.app_ports['infusion']}"),
                         ("127.0.0.1:8082", f"127.0.0.1:{self.app_ports['dextor']}"),
                         ("127.0.0.1:9101", f"127.0.0.1:{self.accounts_tcp}"),
                         ("127.0.0.1:9102", f"127.0.0.1:{self.appauth_tcp}")):
            text = text.replace(old, new)
        return text

    def nginx_conf(self):
        web = self.state / "web"
        (web / "sso").mkdir(parents=True, exist_ok=True)
        for f in (ROOT / "nginx").glob("*.conf"):
            (web / "sso" / f.name).write_text(self.render(f.read_text()))
        for f in ("fastcgi_params", "mime.types"):
            shutil.copy(f"/etc/nginx/{f}", web / f)
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (web / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        conf = web / "nginx.conf"
        conf.write_text(f"""# Generated by scripts/ssostack.py: the process settings of this run around the project's example site.
{user}daemon off;
worker_processes 2;
pid {web}/nginx.pid;
error_log {self.state}/logs/nginx-error.log notice;
events {{ worker_connections 1024; }}
http {{
    include mime.types;
    default_type application/octet-stream;
    access_log {self.state}/logs/nginx-access.log;
    client_body_temp_path {web}/tmp/client_body;
    proxy_temp_path {web}/tmp/proxy;
    fastcgi_temp_path {web}/tmp/fastcgi;
    uwsgi_temp_path {web}/tmp/uwsgi;
    scgi_temp_path {web}/tmp/scgi;
    sendfile on;
    keepalive_timeout 30;
    include {web}/sso/example-site.conf;
{self.extra_http}
}}
""")
        return conf

    def start_nginx(self):
        conf = self.nginx_conf()
        check = subprocess.run(["nginx", "-t", "-e", "stderr", "-p", str(self.state / "web"), "-c", str(conf)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if check.returncode != 0:
            raise RuntimeError("nginx -t refused the rendered config:\n" + check.stdout.decode(errors="replace"))
        proc = self.spawn("nginx", ["nginx", "-e", "stderr", "-p", str(self.state / "web"), "-c", str(conf)])
        wait_for(lambda: port_in_use(self.https_port), "nginx", proc=proc, log=self.log_path("nginx"))

    def apache_conf(self):
        """A standalone httpd.conf (modules, process settings) around the project's own apache/ files, rendered with
        this run's paths and ports."""
        web = self.state / "web"
        (web / "sso").mkdir(parents=True, exist_ok=True)
        for f in (ROOT / "apache").glob("*.conf"):
            text = f.read_text().replace("/etc/apache2/sso/", f"{web}/sso/")
            (web / "sso" / f.name).write_text(self.render(text))
        loads = "\n".join(f"LoadModule {m}_module {APACHE_MODULE_DIR}/mod_{m}.so" for m in APACHE_MODULES)
        user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
        conf = web / "httpd.conf"
        conf.write_text(f"""# Generated by scripts/ssostack.py: the process settings of this run around the project's example site.
ServerRoot "{web}"
ServerName localhost
{loads}
{user}PidFile "{web}/httpd.pid"
ErrorLog "{self.state}/logs/apache-error.log"
LogLevel warn authnz_fcgi:info
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog "{self.state}/logs/apache-access.log" common
TypesConfig /etc/mime.types
Mutex posixsem
SSLSessionCache "shmcb:{web}/ssl_scache(512000)"
SSLRandomSeed startup builtin
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
KeepAliveTimeout 30
Include "{web}/sso/example-site.conf"
""")
        return conf

    def start_apache(self):
        """Checked with `apache2 -t` before it starts."""
        conf = self.apache_conf()
        env = dict(os.environ, APACHE_RUN_DIR=str(self.state / "web"), APACHE_LOCK_DIR=str(self.state / "web"))
        check = subprocess.run(["apache2", "-t", "-f", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=env)
        if check.returncode != 0:
            raise RuntimeError("apache2 -t refused the rendered config:\n" + check.stdout.decode(errors="replace"))
        proc = self.spawn("apache", ["apache2", "-f", str(conf), "-DFOREGROUND"], env=env)
        wait_for(lambda: port_in_use(self.https_port), "apache2", proc=proc, log=self.log_path("apache"))

    def start(self):
        if port_in_use(self.https_port):
            raise RuntimeError(f"127.0.0.1:{self.https_port} is already in use")
        self.make_pki()
        self.make_keys()
        self.make_users()
        if not self.user_config:
            self.make_config()
        try:
            self.start_memcached()
            self.start_fcgi()
            self.start_apps()
            if self.server == "apache":
                self.start_apache()
            else:
                self.start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def terminate(self, name, timeout=10):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return None
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return proc.returncode
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait()

    def stop(self):
        for name in reversed(list(self.procs)):
            self.terminate(name)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    parser = argparse.ArgumentParser(description="Run the SSO demo stack on 127.0.0.1 until Ctrl-C or SIGTERM.")
    parser.add_argument("--bin", required=True, help="folder with AccountsFCGI and AppAuthFCGI")
    parser.add_argument("--state", required=True, help="state folder (CA, keys, config, logs)")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--server", choices=["nginx", "apache"], default="nginx")
    parser.add_argument("--config", help="your own config file instead of the generated demo one")
    args = parser.parse_args()

    stack = Stack(args.state, args.bin, https_port=args.port, server=args.server, config_file=args.config)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    stack.start()
    p = args.port
    print(f"""
SSO demo is running ({args.server}) on https://127.0.0.1:{p}/ for three hosts:
  https://accounts.iqueue.test:{p}/    the accounts server (sign-in)
  https://infusion.iqueue.test:{p}/    app "Infusion" (alice, bob)
  https://dextor.leantaas.test:{p}/    app "Dextor"   (alice only) - another registrable domain

Users:  alice / wonderland   (infusion, dextor)
        bob   / builder      (infusion only)

Demo CA (trust it, or ignore certificate errors): {stack.ca}
curl:      curl --cacert {stack.ca} --resolve infusion.iqueue.test:{p}:127.0.0.1 -i https://infusion.iqueue.test:{p}/
Chromium:  chromium --host-resolver-rules="MAP *.test 127.0.0.1" --ignore-certificate-errors https://infusion.iqueue.test:{p}/
Config:    {stack.config_path}
Logs:      {stack.state}/logs/

Ctrl-C stops everything.
""", flush=True)
    try:
        while not stopping:
            for name, proc in list(stack.procs.items()):
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see {stack.log_path(name)}", file=sys.stderr)
                    stopping.append(1)
            time.sleep(0.3)
    finally:
        print("Stopping...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
