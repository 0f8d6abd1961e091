"""Shared plumbing of scripts/soak and scripts/faults (python3 standard library only, loopback only):
build the release binary, start `periscope serve` in a temporary data directory on a free port with
a tokens file, talk HTTP/1.1 to it, read its resident memory and open descriptors from /proc, and
print markdown tables."""
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_TOKEN = "reliability-admin-token-0123456789abcdef"
INFER_TOKEN = "reliability-infer-token-0123456789abcdef"


def build_binary():
    """The release `periscope` (PERISCOPE_BIN overrides; else `swift build -c release`)."""
    binary = os.environ.get("PERISCOPE_BIN")
    if binary:
        return binary
    subprocess.run(["swift", "build", "-c", "release", "--product", "periscope"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    return os.path.join(path, "periscope")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(width, height, seed=0):
    """A small RGB PNG of smooth pseudo-random content (zlib + struct, no imaging library)."""
    rows = []
    state = seed * 2654435761 % 2**32 or 1
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            state = (1103515245 * state + 12345) % 2**31
            row += bytes(((x * 4 + state % 16) % 256, (y * 4) % 256, (x + y + seed) % 256))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")


def call(port, method, path, body=None, headers=None, token=INFER_TOKEN, timeout=120, connection=None):
    """One request; returns (status, headers dict (lower-case names), body bytes). Reuses
    `connection` (keep-alive) when given."""
    own = connection is None
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = "Bearer " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        if own:
            conn.close()


def error_of(body):
    """The `error` message of a JSON error body (or the raw text)."""
    try:
        value = json.loads(body)
        return f"{value.get('error_type')}: {value.get('error')}"
    except ValueError:
        return body[:200].decode(errors="replace")


class Server:
    """`periscope serve` on a free loopback port in `data` (created), with an admin and an infer
    token, demo ResNet-18 (and MiniLM when `minilm` and `.cache/minilm` exist). `env` adds
    PERISCOPE_* settings; `preexec` runs in the child before exec (resource limits)."""

    def __init__(self, binary, data, env=None, minilm=True, preexec=None, wait=True):
        os.makedirs(data, exist_ok=True)
        self.data = data
        self.port = free_port()
        tokens = os.path.join(data, "tokens.json")
        with open(tokens, "w") as file:
            json.dump({"tokens": [{"token": ADMIN_TOKEN, "scopes": ["admin", "infer"]}, {"token": INFER_TOKEN, "scopes": ["infer"]}]}, file)
        minilm_dir = os.path.join(ROOT, ".cache/minilm")
        settings = dict(PERISCOPE_DATA_DIR=data, PERISCOPE_AUTH_TOKENS_FILE=tokens, PERISCOPE_LOG_LEVEL="warning",
                        PERISCOPE_DEMO_MINILM_DIR=minilm_dir if minilm and os.path.isdir(minilm_dir) else "null")
        settings.update(env or {})
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("PERISCOPE_") or k == "PERISCOPE_BIN"}
        full_env.update(settings)
        self.log_path = os.path.join(data, f"server-{self.port}.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, "serve", "--port", str(self.port)], env=full_env, cwd=ROOT,
                                        stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=preexec)
        self.pid = self.process.pid
        if wait:
            self.wait_ready()

    def wait_ready(self, seconds=600):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if call(self.port, "GET", "/readyz", token=None, timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not become ready: " + self.log_tail())

    def log_tail(self, lines=5):
        with open(self.log_path) as file:
            return " | ".join(file.read().splitlines()[-lines:])

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def metric(self, name):
        """A label-less sample of /metrics."""
        status, _, body = call(self.port, "GET", "/metrics", token=None)
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise RuntimeError(f"no metric {name} (status {status})")

    def terminate(self, timeout=60):
        """SIGTERM; returns (exit code, seconds to exit)."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log.close()
        return code, time.monotonic() - started


def temporary_directory(prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("TMPDIR", "/tmp"))


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)
