"""Hostile FastCGI input for the runtime tests: records no web server sends, connections that stall, and a generator of
malformed requests. Imported by tests, and run as a script when the attack must come from another process (and, for a
TCP socket that admits only the web server's user, as that user):

    fcgi_attacks.py hold ADDRESS COUNT MODE SECONDS   opens COUNT connections (MODE: silent, partial, header, drip, kept
                                                      or body: `stall_bytes`) and holds them; prints one JSON line: how
                                                      many the program closed, and when
    fcgi_attacks.py fuzz ADDRESS SEED COUNT           sends COUNT generated malformed requests; prints a JSON summary
    fcgi_attacks.py overflow ADDRESS COUNT            sends the params record whose lengths add past INT_MAX COUNT times
    fcgi_attacks.py probe ADDRESS HOST                sends one whole request for HOST; prints whether it could connect and
                                                      the answer's status (null: closed without an answer)
    fcgi_attacks.py queue ADDRESS COUNT HOST          opens COUNT connections, sends each a whole request for HOST, prints
                                                      "ready", waits for a line on stdin, then prints the statuses
    fcgi_attacks.py probe-bound ADDRESS HOST IP PORT DEVICE [wait]
                                                      a probe from a socket bound to IP:PORT (0: any) with SO_REUSEADDR
                                                      and bound to DEVICE (SO_BINDTODEVICE; "-": none), which hides it
                                                      from the kernel's owner lookup; prints the port bound, and with
                                                      "wait" connects only after a line on stdin
    fcgi_attacks.py listen-on PORT                    listens on 0.0.0.0:PORT with SO_REUSEADDR (a daemon of another
                                                      user), prints "listening", then waits for stdin to close

ADDRESS is a unix socket path or host:port.
"""
import json
import random
import socket
import struct
import sys
import time

import fcgi_client as fc

# A PARAMS record whose name and value lengths (4-byte forms) are 0x3fffffff each: together past INT_MAX. libfcgi 2.4.2
# adds them (plus 2) in an int and asserts on the failed malloc: SIGABRT.
OVERFLOW_PAIR = b"\xbf\xff\xff\xff\xbf\xff\xff\xff"


def overflow_request():
    return fc.begin() + fc.record(fc.PARAMS, OVERFLOW_PAIR)


# A management record (request id 0) GET_VALUES whose one pair has the same two lengths: libfcgi reads any
# management record it meets while reading a request's streams, with the same int addition.
GET_VALUES_OVERFLOW = struct.pack(">BBHHBB", 1, 9, 0, len(OVERFLOW_PAIR), 0, 0) + OVERFLOW_PAIR


def hidden_management_record(where):
    """A request that carries GET_VALUES_OVERFLOW where only libfcgi reads it: "padding", in the padding of the empty
    PARAMS record (libfcgi forgets that padding when it turns to the body and reads it as the next record); "body",
    between body records sent after the first 33,000 bytes (past 32 KiB the body is flowing and read as it comes).
    Returns the parts to send, with a pause between them."""
    env = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/hidden", "HTTP_HOST": "infusion.iqueue.test", "HTTPS": "on"}
    if where == "padding":
        env["CONTENT_LENGTH"] = "5"
        body = fc.pair(b"REQUEST_METHOD", b"POST") + fc.pair(b"CONTENT_LENGTH", b"5")
        padded_end = struct.pack(">BBHHBB", 1, fc.PARAMS, 1, 0, len(GET_VALUES_OVERFLOW), 0) + GET_VALUES_OVERFLOW
        return [fc.begin() + fc.record(fc.PARAMS, body) + padded_end + fc.stdin(b"hello")]
    env["CONTENT_LENGTH"] = "40000"
    return [fc.begin() + fc.params(env) + fc.stdin(b"a" * 33_000, end=False),
            GET_VALUES_OVERFLOW + fc.stdin(b"b" * 7_000)]


def parse_address(text):
    if text.startswith("/"):
        return text
    host, port = text.rsplit(":", 1)
    return (host, int(port))


def open_socket(address, timeout=5):
    s = socket.socket(socket.AF_UNIX if isinstance(address, str) else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(address)
    return s


def send_and_close(address, data, linger=2.0):
    """Sends `data`, half-closes, reads until the program closes (or `linger` seconds); returns the bytes it sent back
    (empty when it closed or reset the connection without an answer), or None when it could not connect."""
    try:
        s = open_socket(address)
    except OSError:
        return None
    out = b""
    with s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(linger)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk
        except OSError:  # a timeout, or the program dropped the connection while bytes were still coming
            return out


# ---- stalled connections

STALL_ENV = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/stalled", "HTTP_HOST": "infusion.iqueue.test", "HTTPS": "on",
             "REQUEST_SCHEME": "https", "HTTP_USER_AGENT": "fcgi-stall", "REMOTE_ADDR": "127.0.0.1"}
# A whole request whose header takes 2 kB, sent a byte at a time in "drip" mode.
DRIP_REQUEST = fc.begin() + fc.params(dict(STALL_ENV, X_PAD="y" * 2000)) + fc.stdin(b"")


def stall_bytes(mode):
    """silent: nothing at all; partial: 5 bytes of a record header; header: a whole BEGIN_REQUEST and half a PARAMS;
    drip: the first 40 bytes of DRIP_REQUEST (`hold` then sends one more every 0.2 s); kept: a whole request with
    FCGI_KEEP_CONN, then silence (the answer is read, the connection left idle); body: a whole POST header declaring
    100,000 bytes of body and 40,000 of them (past 32 KiB a worker reads the body as it comes), then silence."""
    if mode == "silent":
        return b""
    if mode == "partial":
        return fc.begin()[:5]
    if mode == "drip":
        return DRIP_REQUEST[:40]
    if mode == "kept":
        return fc.begin(keep_conn=True) + fc.params(STALL_ENV) + fc.stdin(b"")
    if mode == "body":
        env = dict(STALL_ENV, REQUEST_METHOD="POST", CONTENT_LENGTH="100000", CONTENT_TYPE="application/x-www-form-urlencoded")
        return fc.begin() + fc.params(env) + fc.stdin(b"a" * 40_000, end=False)
    return fc.begin() + fc.record(fc.PARAMS, fc.pair(b"REQUEST_METHOD", b"GET"))[:10]


def open_all(address, count, data):
    """Opens up to `count` connections, sends each `data`, leaves them non-blocking; prints how many are ready (the
    line a test waits for) and returns them."""
    conns = []
    for _ in range(count):
        try:
            s = open_socket(address)
            if data:
                s.sendall(data)
            s.setblocking(False)
            conns.append(s)
        except OSError:
            pass
    print(json.dumps({"ready": len(conns)}), flush=True)
    return conns


def hold(address, count, mode, seconds):
    """Opens `count` connections, sends each its stall bytes, and waits up to `seconds`; returns how many the program
    closed and the seconds at which the first and last of them were closed."""
    conns = open_all(address, count, stall_bytes(mode))
    start = time.time()
    closed = []
    open_ = list(conns)
    dripped, next_drip = 40, start + 0.2
    while open_ and time.time() - start < seconds:
        drip = mode == "drip" and time.time() >= next_drip and dripped < len(DRIP_REQUEST)
        if drip:
            next_drip += 0.2
            dripped += 1
        still = []
        for s in open_:
            try:
                if drip:
                    s.send(DRIP_REQUEST[dripped - 1:dripped])
                if s.recv(65536) == b"":
                    closed.append(time.time() - start)
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                closed.append(time.time() - start)
                s.close()
                continue
            still.append(s)
        open_ = still
        time.sleep(0.05)
    for s in open_:
        s.close()
    return {"opened": len(conns), "closed": len(closed), "first_closed": min(closed, default=None),
            "last_closed": max(closed, default=None)}


# ---- a trickle after an incomplete header

def trickle(address, count, seconds, size="large"):
    """Opens `count` connections, sends each two full PARAMS records of empty pairs (131 kB, all valid) and the header
    of a third (size N: a BEGIN_REQUEST, the header of a PARAMS record and N of its bytes instead), then one more byte
    to each every millisecond for `seconds`: each byte is new input, so a program that scans the whole start of the
    request again for every byte, or wakes for every byte, spends CPU on it without end. Returns how many bytes were
    trickled and how many connections the program had closed by the end."""
    filler = b"\x00" * 65534  # 32,767 pairs with empty names and values: nothing the params limit counts
    if size != "large":
        start = fc.begin() + struct.pack(">BBHHBB", 1, fc.PARAMS, 1, 65534, 0, 0) + filler[:int(size)]
    else:
        start = fc.begin() + fc.record(fc.PARAMS, filler) * 2 + struct.pack(">BBHHBB", 1, fc.PARAMS, 1, 65534, 0, 0)
    conns = open_all(address, count, start)
    sent = 0
    closed = set()
    end = time.time() + seconds
    while time.time() < end:
        for i, s in enumerate(conns):
            if i in closed:
                continue
            try:
                sent += s.send(b"\x00")
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.001)
    for s in conns:
        s.close()
    return {"opened": len(conns), "trickled": sent, "closed": len(closed)}


# ---- generated malformed requests

def generated(seed, count):
    """`count` malformed requests: bad versions, types, roles and lengths, truncations, overflowing lengths, params
    floods, huge content lengths, foreign request ids, garbage. Each is (kind, bytes)."""
    rng = random.Random(seed)
    env = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/fuzz", "HTTP_HOST": "infusion.iqueue.test", "HTTPS": "on"}
    valid = fc.begin() + fc.params(env) + fc.stdin(b"x=1")

    def header(version, rtype, rid, length, padding=0):
        return struct.pack(">BBHHBB", version, rtype, rid, length, padding, 0)

    makers = [
        ("version", lambda: header(rng.choice([0, 2, 3, 255]), 1, 1, 8) + bytes(8)),
        ("type", lambda: header(1, rng.choice([0, 3, 6, 7, 9, 10, 11, 12, 200, 255]), rng.randint(0, 3), 8) + bytes(8)),
        ("role", lambda: fc.record(fc.BEGIN, struct.pack(">HB5x", rng.choice([0, 3, 4, 65535]), 1))),
        ("begin-length", lambda: header(1, 1, 1, rng.choice([0, 1, 7, 9, 100, 65535])) + bytes(rng.randint(0, 64))),
        ("request-id-0", lambda: fc.begin(request_id=0) + fc.params(env, request_id=0)),
        ("overflow", lambda: fc.begin() + fc.record(fc.PARAMS, rng.choice([
            OVERFLOW_PAIR, b"\xff\xff\xff\xff\x01", b"\xff\xff\xff\xff\xff\xff\xff\xff",
            struct.pack(">II", 0x80000000 | rng.getrandbits(31), 0x80000000 | rng.getrandbits(31))]))),
        ("truncated", lambda: valid[:rng.randint(1, len(valid) - 1)]),
        ("params-flood", lambda: fc.begin() + b"".join(fc.record(fc.PARAMS, fc.pair(b"A", b"1")) for _ in range(rng.randint(300, 600)))),
        ("params-huge", lambda: fc.begin() + fc.params({"HTTP_X": "x" * rng.randint(70_000, 200_000)})),
        ("content-length", lambda: fc.begin() + fc.params(dict(env, CONTENT_LENGTH=rng.choice(
            ["9223372036854775807", "-1", "abc", "99999999999999999999999", str(1 << 40)]))) + fc.stdin(b"y" * rng.randint(0, 100))),
        ("stdin-short", lambda: fc.begin() + fc.params(dict(env, CONTENT_LENGTH="65535")) + header(1, fc.STDIN, 1, 65535) + b"z" * rng.randint(0, 1000)),
        ("foreign-id", lambda: fc.begin() + fc.params(env, request_id=rng.randint(2, 65535)) + fc.stdin(b"")),
        ("management", lambda: header(1, 9, 0, 20) + fc.pair(b"FCGI_MAX_CONNS", b"") + bytes(3)),
        ("pair-split", lambda: fc.begin() + fc.record(fc.PARAMS, fc.pair(b"NAME", b"value")[:-2]) + fc.record(fc.PARAMS) + fc.stdin(b"")),
        ("garbage", lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))),
        ("http", lambda: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("padding", lambda: fc.begin() + header(1, fc.PARAMS, 1, 3, 255) + b"\x01\x01ab" + bytes(10)),
    ]
    for i in range(count):
        kind, make = makers[i % len(makers)]
        yield kind, make()


def fuzz(address, seed, count):
    kinds = {}
    for kind, data in generated(seed, count):
        answer = send_and_close(address, data)
        k = kinds.setdefault(kind, {"sent": 0, "reached": 0, "answered": 0})
        k["sent"] += 1
        if answer is not None:
            k["reached"] += 1
        if answer:
            k["answered"] += 1
    return {"sent": count, "kinds": kinds}


def probe_env(host):
    """The params of the probes' one request for `host`."""
    return {"REQUEST_METHOD": "GET", "REQUEST_URI": "/probe", "HTTP_HOST": host, "HTTPS": "on", "SSO_ORIGIN": "https://" + host,
            "REQUEST_SCHEME": "https", "HTTP_USER_AGENT": "fcgi-probe", "REMOTE_ADDR": "127.0.0.1"}


def probe_over(s, host):
    """Sends the probe over the connected socket `s`; prints whether it connected and the answer's status."""
    with s:
        try:
            s.sendall(fc.begin() + fc.params(probe_env(host)) + fc.stdin(b""))
            status = fc.read_response(s)[0]
        except OSError:
            status = None
    print(json.dumps({"connected": True, "status": status}), flush=True)


def main():
    if sys.argv[1] == "listen-on":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(sys.argv[2])))
        s.listen(1)
        print(json.dumps({"listening": int(sys.argv[2])}), flush=True)
        sys.stdin.read()
        return
    command, address = sys.argv[1], parse_address(sys.argv[2])
    if command == "hold":
        print(json.dumps(hold(address, int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))), flush=True)
    elif command == "trickle":
        size = sys.argv[5] if len(sys.argv) > 5 else "large"
        print(json.dumps(trickle(address, int(sys.argv[3]), float(sys.argv[4]), size)), flush=True)
    elif command == "probe":
        try:
            s = open_socket(address)
        except OSError as error:
            print(json.dumps({"connected": False, "error": type(error).__name__, "status": None}), flush=True)
            return
        probe_over(s, sys.argv[3])
    elif command == "queue":
        conns = []
        env = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/queued", "HTTP_HOST": sys.argv[4], "HTTPS": "on",
               "SSO_ORIGIN": "https://" + sys.argv[4], "REQUEST_SCHEME": "https", "HTTP_USER_AGENT": "fcgi-queue",
               "REMOTE_ADDR": "127.0.0.1"}
        for i in range(int(sys.argv[3])):
            s = open_socket(address, timeout=60)
            s.sendall(fc.begin() + fc.params(dict(env, REQUEST_URI=f"/queued/{i}")) + fc.stdin(b""))
            conns.append(s)
        print(json.dumps({"ready": len(conns)}), flush=True)
        sys.stdin.readline()
        statuses = []
        for s in conns:
            try:
                statuses.append(fc.read_response(s)[0])
            except OSError as error:
                statuses.append(type(error).__name__)
            s.close()
        print(json.dumps({"statuses": statuses}), flush=True)
    elif command == "overflow":
        answers = [send_and_close(address, overflow_request()) for _ in range(int(sys.argv[3]))]
        print(json.dumps({"sent": len(answers), "reached": sum(1 for a in answers if a is not None),
                          "answered": sum(1 for a in answers if a),
                          "refused_431": sum(1 for a in answers if a and b"Status: 431" in a)}), flush=True)
    elif command == "hidden":
        # One connection after another: the parts of a hidden management record (see hidden_management_record), then
        # whatever comes back until the program closes.
        results = []
        for _ in range(int(sys.argv[4])):
            try:
                s = open_socket(address)
            except OSError:
                results.append("unreachable")
                continue
            with s:
                try:
                    for i, part in enumerate(hidden_management_record(sys.argv[3])):
                        if i:
                            time.sleep(0.3)
                        s.sendall(part)
                    s.shutdown(socket.SHUT_WR)
                    answer = b""
                    while chunk := s.recv(65536):
                        answer += chunk
                    results.append("answered" if answer else "closed")
                except OSError as error:
                    results.append(type(error).__name__)
        print(json.dumps({"results": results}), flush=True)
    elif command == "probe-bound":
        ip, port, device = sys.argv[4], int(sys.argv[5]), sys.argv[6]
        wait = len(sys.argv) > 7 and sys.argv[7] == "wait"
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if device != "-":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        s.bind((ip, port))
        print(json.dumps({"bound": s.getsockname()[1]}), flush=True)
        if wait:
            sys.stdin.readline()
        s.settimeout(5)
        try:
            s.connect(address)
        except OSError as error:
            print(json.dumps({"connected": False, "error": type(error).__name__, "status": None}), flush=True)
            return
        probe_over(s, sys.argv[3])
    elif command == "fuzz":
        print(json.dumps(fuzz(address, int(sys.argv[3]), int(sys.argv[4]))), flush=True)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
