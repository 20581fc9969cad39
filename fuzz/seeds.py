#!/usr/bin/env python3
"""Writes the hand-made seeds of every fuzz target into fuzz/corpus/<target>/seed-*.

The keys are the fuzz targets' own fixed keys (Sources/SSOFuzz/FuzzKeys.swift): the Ed25519 pair of RFC 8037 §A.1
and the HS256 secret, so the good tokens here verify in the targets at their fixed time (1,700,000,000).
Run from anywhere: python3 fuzz/seeds.py  (needs the `cryptography` package for Ed25519).
"""
import base64, hashlib, hmac, json, os, pathlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
NOW = 1_700_000_000
ISS, AUD, HOST = "https://accounts.example.test", "sso", "https://app.example.test"
SECRET = b"fuzz-secret-0123456789abcdef-0123"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


ED = Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="))


def js(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def claims(**changes):
    c = dict(iss=ISS, aud=[AUD, HOST], sub="alice", jti="tok-1", iat=NOW, nbf=NOW, exp=NOW + 3600,
             svc=["app"], name="Alice", email="alice@example.test")
    c.update(changes)
    return c


def token(header: dict, payload: dict, signer=None) -> str:
    signing_input = (b64(js(header)) + "." + b64(js(payload))).encode()
    if signer == "none":
        signature = b""
    elif header.get("alg") == "HS256" or signer == "hs":
        signature = hmac.new(SECRET, signing_input, hashlib.sha256).digest()
    else:
        signature = ED.sign(signing_input)
    return signing_input.decode() + "." + b64(signature)


ED_H = {"alg": "EdDSA", "kid": "ed-1", "typ": "JWT"}
HS_H = {"alg": "HS256", "kid": "hs-1", "typ": "JWT"}
SEEDS = {
    "jwt": {
        "valid-eddsa": token(ED_H, claims()),
        "valid-hs256": token(HS_H, claims()),
        "aud-as-string": token(ED_H, claims(aud=AUD)),
        "expired": token(ED_H, claims(exp=NOW - 3600)),
        "other-host": token(ED_H, claims(aud=[AUD, "https://other.example.test"])),
        "alg-none": token({"alg": "none", "kid": "ed-1"}, claims(), signer="none"),
        "alg-confusion": token({"alg": "HS256", "kid": "ed-1"}, claims(), signer="hs"),
        "crit": token({**ED_H, "crit": ["exp"]}, claims()),
        "unknown-kid": token({**ED_H, "kid": "ed-9"}, claims()),
        "padded": token(ED_H, claims()) + "==",
        "empty-parts": "..",
    },
    "jwt-claims": {
        "payload-only": js(claims()),
        "eddsa-header": js(ED_H) + b"\0" + js(claims()),
        "aud-as-string": js(claims(aud=AUD)),
        "not-yet-valid": js(claims(nbf=NOW + 3600)),
        "large-times": js(claims(exp=2**62, nbf=-(2**62), iat=0)),
        "missing-jti": js({k: v for k, v in claims().items() if k != "jti"}),
        "empty-sub": js(claims(sub="", jti="")),
    },
    "cookies": {
        "jwt-and-state": "sso=" + token(ED_H, claims()) + "; sso_state=abcdefghijklmnop0123; theme=dark",
        "quoted-and-spaces": ' a = "1" ;b=2;;  ; =x; c="";d',
        "duplicates": "sso=first; sso=second; SSO=third",
        "query": "a=1&b=%C3%A9&requestID=x&sso_switch=1&requestID=y&c+d=e+f&%zz=1&&=",
        "ipv6": "2001:db8:1:2:3:4:5:6",
        "ipv4-mapped": "::ffff:10.1.2.3",
        "zone": "fe80::1%eth0",
    },
    "redirect": {
        "path-query-fragment": "https://app.example.test/path/x?y=1&z=%20#frag",
        "port": "https://app.example.test:8443/",
        "bare-origin": "https://dextor.leantaas.test",
        "query-only": "https://app.example.test?x=1",
        "userinfo": "https://app.example.test@evil.example/",
        "backslash": "https://app.example.test\\@evil.example/",
        "scheme-relative": "//evil.example/",
        "double-slash-path": "https://app.example.test//evil.example/",
        "percent-host": "https://app%2eexample.test/",
        "http": "http://app.example.test/",
        "upper-case": "HTTPS://APP.EXAMPLE.TEST:443/A",
        "origin-with-slash": "https://app.example.test/",
    },
    "session-record": {
        "session": "s1\talice\t1699999990\t900\t" + hashlib.sha256(b"Mozilla/5.0").hexdigest() + "\t1699990000\t1700086400",
        "idle": "s1\talice\t1699990000\t900\tfp\t1699990000\t1700086400",
        "wrong-user": "s1\tbob\t1700000000\t900\tfp\t1699990000\t1700086400",
        "max-digits": "s1\talice\t999999999999999999\t999999999999999999\tfp\t0\t999999999999999999",
        "index": "tok-1 fuzz-session ../x tok-2",
        "counter": "17\r\n",
    },
}


def cached_request(body: bytes, parts: int) -> bytes:
    return js({"method": "POST", "uri": "/form?x=1", "origin": HOST, "headers": [["content-type", "text/plain"],
               ["x-a", "1"]], "bodyLength": len(body), "bodySHA256": hashlib.sha256(body).hexdigest(), "user": "alice",
               "fingerprint": "fp", "created": NOW, "dropped": None, "parts": parts})


SEEDS["request-cache"] = {
    "one-part": cached_request(b"hello=world", 1) + b"\0hello=world",
    "two-parts": cached_request(b"hello=world", 2) + b"\0hello=\0world",
    "empty-body": cached_request(b"", 0),
    "dropped": js({"method": "PUT", "uri": "/u", "origin": HOST, "headers": [], "bodyLength": 0,
                   "bodySHA256": hashlib.sha256(b"").hexdigest(), "user": None, "fingerprint": "fp", "created": NOW,
                   "dropped": "too large", "parts": 0}),
    "handoff": js({"jwt": token(ED_H, claims()), "origin": HOST,
                   "stateDigest": hashlib.sha256(b"abcdefghijklmnopqrstuvwxyz012345").hexdigest()}) + b"\0abcdefghijklmnopqrstuvwxyz012345",
    "handoff-no-state": js({"jwt": "x.y.z", "origin": HOST}),
}

# The receipt first, then a manifest and its parts (as in request-cache): each receipt state, live and past, and
# values a clock cannot show.
ONE_PART = cached_request(b"hello=world", 1) + b"\0hello=world"
SEEDS["request-cache-receipt"] = {
    "waiting": b"%d\0" % (NOW + 100) + ONE_PART,
    "waiting-ran-out": b"%d\0" % (NOW - 1) + ONE_PART,
    "taking-live": b"taking %d %d\0" % (NOW + 10, NOW + 100) + ONE_PART,
    "taking-stale": b"taking %d %d\0" % (NOW - 10, NOW + 100) + ONE_PART,
    "done": b"done\0" + ONE_PART,
    "extremes": b"taking 9223372036854775807 -9223372036854775808\0" + ONE_PART,
    "no-manifest": b"%d" % (NOW + 100),
    "damaged": b"taking 17000000x0 \0" + cached_request(b"hello=world", 2) + b"\0hello",
}

repo = ROOT.parent.parent
SEEDS["config"] = {
    "example-config": (repo / "config/sso.example.yaml").read_bytes(),
    "example-users": (repo / "config/users.example.yaml").read_bytes(),
    "minimal-config": b"accounts_url: https://accounts.example.test\nusers_file: users.yaml\nmemcached: {servers: [\"127.0.0.1:11211\"]}\n"
                      b"keys: {list: [{kid: k1, public_key_file: k1.pub}]}\n"
                      b"services: [{name: infusion, origins: [\"https://infusion.example.test\"], idle_timeout: 900}]\n",
    "flow-users": b"users:\n  - {username: alice, password_hash: '$2b$05$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22', "
                  b"services: [infusion, dextor], disabled: false}\n  - {username: bob, password_hash: "
                  b"'$6$rounds=5000$saltsalt$" + b"a" * 86 + b"', services: [nope]}\n",
}

for target, seeds in SEEDS.items():
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (folder / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())
    print(f"{target}: {len(seeds)} seeds")
