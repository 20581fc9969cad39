"""A minimal FastCGI client for tests: builds records by hand, so tests can also send broken ones."""
import socket
import struct

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
ROLES = {"RESPONDER": 1, "AUTHORIZER": 2}


def record(rtype, content=b"", request_id=1):
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content), 0, 0) + content


def pair(name, value):
    out = b""
    for part in (name, value):
        n = len(part)
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def begin(role="RESPONDER", keep_conn=False, request_id=1):
    return record(BEGIN, struct.pack(">HB5x", ROLES[role], 1 if keep_conn else 0), request_id)


def params(env, request_id=1):
    body = b"".join(pair(k.encode(), v.encode()) for k, v in env.items())
    out = b""
    for i in range(0, len(body), 65535):
        out += record(PARAMS, body[i:i + 65535], request_id)
    return out + record(PARAMS, b"", request_id)


def stdin(data, request_id=1, end=True):
    out = b""
    for i in range(0, len(data), 65535):
        out += record(STDIN, data[i:i + 65535], request_id)
    return out + (record(STDIN, b"", request_id) if end else b"")


def read_response(sock, pending=None):
    """Reads records until END_REQUEST; returns (status, headers dict lower-case -> list, body bytes). `pending` (a
    bytearray) carries what was read past this answer over to the next call, for answers that arrive back to back."""
    out = b""
    buf = bytes(pending) if pending is not None else b""
    while True:
        while len(buf) < 8:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before END_REQUEST")
            buf += chunk
        _, rtype, _, length, padding, _ = struct.unpack(">BBHHBB", buf[:8])
        while len(buf) < 8 + length + padding:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed inside a record")
            buf += chunk
        content = buf[8:8 + length]
        buf = buf[8 + length + padding:]
        if rtype == STDOUT:
            out += content
        elif rtype == END:
            break
    if pending is not None:
        pending[:] = buf
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    status = 200
    for line in head.decode("latin-1").split("\r\n"):
        if ":" not in line:
            continue
        name, value = line.split(":", 1)
        headers.setdefault(name.strip().lower(), []).append(value.strip())
        if name.strip().lower() == "status":
            status = int(value.strip().split()[0])
    return status, headers, body


def connect(address):
    if isinstance(address, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(address)
    return s


def request(address, env, body=b"", role="RESPONDER"):
    """One request; the answer is read even when the program stopped reading first (it reads at most a bounded part
    of a body it will not keep, answers, and gives the connection up), as a web server does."""
    with connect(address) as s:
        try:
            s.sendall(begin(role) + params(env) + stdin(body))
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s)
