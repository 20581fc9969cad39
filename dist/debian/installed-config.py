#!/usr/bin/env python3
"""Makes the package's /etc/sso/sso.yaml and users.yaml from config/*.example.yaml: the same keys and comments, with
the demo's hosts replaced by example.com names, the key made on first install, and no users. Every replaced text must
be in the example: a change there this script does not know about stops the package build instead of shipping a
config that still names the demo.  Usage: installed-config.py CONFIG_DIR OUT_DIR"""
import sys
from pathlib import Path

HEADER = """# /etc/sso/sso.yaml, installed by the sso package (a conffile: your changes are kept on upgrade).
# Set accounts_url, the services and memcached.servers for your site, then check it:
# (memcached has no authentication: on one machine give it a unix socket only the sso user may use, docs/deploy.md
# section 7; 127.0.0.1:11211 is open to every local user)
#     ssoctl check            (the checks of every program this host runs, at once)
# and restart:  systemctl restart sso-accounts sso-appauth
# The sockets are systemd's (sso-accounts.socket, sso-appauth.socket): accounts.listen and app_auth.listen must name the
# same ListenStream= addresses; socket_mode and socket_group then come from the .socket units. docs/operations.md
"""

CONFIG = [
    ('accounts_url: "https://accounts.iqueue.test:8443"', 'accounts_url: "https://accounts.example.com"'),
    ('audience: "iqueue-sso"', 'audience: "sso"'),
    ('signing_kid: "ed-2026-11"', 'signing_kid: "ed-1"'),
    ('- kid: "ed-2026-11"', '- kid: "ed-1"'),
    ("private_key_file: /etc/sso/keys/ed-2026-11.pem", "private_key_file: /etc/sso/keys/ed-1.pem"),
    ("public_key_file: /etc/sso/keys/ed-2026-11.pub.pem", "public_key_file: /etc/sso/keys/ed-1.pub.pem"),
    ('origins: ["https://infusion.iqueue.test:8443"]', 'origins: ["https://infusion.example.com"]'),
    ('origins: ["https://dextor.leantaas.test:8443"]', 'origins: ["https://dextor.example.org"]'),
    ('product_name: "iQueue Accounts"', 'product_name: "Single Sign-On"'),
]

USERS_HEADER = """# /etc/sso/users.yaml, installed by the sso package (a conffile: your changes are kept on upgrade). Empty: add users with
#     ssoctl users add alice --name "Alice Liddell" --email alice@example.com --services infusion dextor
# (the password is read from standard input); AccountsFCGI picks the change up within users_reload_interval.
"""


def replaced(text, pairs, name):
    for old, new in pairs:
        if text.count(old) != 1:
            sys.exit(f"{name}: expected exactly one {old!r} in the example ({text.count(old)} found)")
        text = text.replace(old, new)
    return text


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    config = (src / "sso.example.yaml").read_text()
    (out / "sso.yaml").write_text(HEADER + "\n" + replaced(config, CONFIG, "sso.example.yaml"))
    users = (src / "users.example.yaml").read_text()
    marker = "\nusers:\n"
    if marker not in users:
        sys.exit("users.example.yaml: no 'users:' list")
    head, _, entries = users.partition(marker)
    # The example's entries stay, commented out, as the shape to follow; their hashes are of passwords nobody knows.
    commented = "".join(f"#{line}\n" if line.strip() else "\n" for line in entries.splitlines())
    (out / "users.yaml").write_text(USERS_HEADER + "\n" + head + "\nusers: []\n" + commented)


if __name__ == "__main__":
    main()
