#!/usr/bin/env python3
"""Throughput of a loopback facerestore cluster, and the cost of the database path for one request.

Starts a private PostgreSQL (Debian's binaries; as root the server runs as the `postgres` user), one
`facerestore serve --store … --no-inference` replica and 1, 2, then 4 `facerestore worker`s, and
sends the same photo --requests times with --concurrency clients to POST /api/process; prints photos
per minute for each worker count. Then times --single sequential requests against a plain `serve`
(the embedded default: in-process queue, results folder) and against a replica with one worker, and
prints the medians and their difference: what the database path adds to one request (a small
photo without faces, so the restoration itself is short).

Everything listens on 127.0.0.1 and is stopped at the end. A benchmark, not a test: figures move with
the machine's other tenants, so compare numbers from one run only.

    .build/release/facerestore --version   # built by scripts/setup.sh
    python3 scripts/cluster_bench.py --models /path/to/models --photo ../shared/fixtures/images/04.jpg
"""
import argparse
import glob
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_arguments():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build/release/facerestore"))
    p.add_argument("--models", required=True, help="models folder for the workers")
    p.add_argument("--photo", default=os.path.join(ROOT, "..", "shared", "fixtures", "images", "04.jpg"))
    p.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--single", type=int, default=20, help="sequential requests per round for the overhead figure")
    p.add_argument("--threads", type=int, default=1, help="threads per worker")
    return p.parse_args()


def gradient_png(width=64, height=48):
    """A small RGB gradient with no face in it: its restoration is detection alone, so the time of
    a request is mostly the path around it (HTTP, queue, storage)."""
    rows = b"".join(b"\x00" + bytes((x * 4 + y * 3 + c * 60) % 256 for x in range(width) for c in range(3)) for y in range(height))

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


class Postgres:
    def __init__(self):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not versions:
            raise SystemExit("PostgreSQL is not installed: scripts/setup.sh --packages-only --test-tools")
        self.bin = os.path.dirname(versions[-1])
        self.folder = tempfile.mkdtemp(prefix="facerestore-bench-pg-")
        self.port = free_port()
        as_root = os.getuid() == 0
        self.prefix = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] if as_root else []
        if as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        data = os.path.join(self.folder, "data")
        subprocess.run(self.prefix + [f"{self.bin}/initdb", "-D", data, "-U", "facerestore", "--auth=trust", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL)
        self.process = subprocess.Popen(self.prefix + [f"{self.bin}/postgres", "-D", data, "-p", str(self.port),
                                        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
                                        "-c", "max_connections=200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: subprocess.run([f"{self.bin}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"]).returncode == 0,
                   30, "PostgreSQL")

    def database(self):
        name = "b" + uuid.uuid4().hex[:8]
        subprocess.run([f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "facerestore", "-d", "postgres",
                        "-q", "-c", f"CREATE DATABASE {name}"], check=True)
        return f"postgres://facerestore@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class Process:
    """A facerestore process whose output goes to a file; ready when `marker` appears."""

    def __init__(self, arguments, marker):
        self.log = tempfile.NamedTemporaryFile(prefix="facerestore-bench-", suffix=".log", delete=False)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("FACERESTORE_")}
        environment["LOG_LEVEL"] = "warning"
        self.process = subprocess.Popen(arguments, stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        wait_until(lambda: marker in self.output(), 180, " ".join(arguments[:2]))

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def port(self):
        line = next(l for l in self.output().splitlines() if "listening on http://" in l)
        return int(line.rsplit(":", 1)[1])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.unlink(self.log.name)


def serve(arguments, binary, models, results):
    return Process([binary, "serve", "--host", "127.0.0.1", "--port", "0", "--models", models, "--results", results,
                    "--queue-depth", "1000"] + arguments, "warmed up")


def post(port, photo, boundary="facerestorebench"):
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"photo\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/process", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=600) as response:
        assert response.status == 200, response.status
        json.load(response)


def main():
    arguments = parse_arguments()
    # SIGTERM or Ctrl-C: still stop everything this started (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    photo = open(arguments.photo, "rb").read()
    results = tempfile.mkdtemp(prefix="facerestore-bench-results-")
    postgres = Postgres()
    processes = []
    try:
        print(f"{arguments.requests} requests of {os.path.basename(arguments.photo)}, {arguments.concurrency} clients, "
              f"{arguments.threads} thread(s) per worker, {os.cpu_count()} cores")
        print("| workers | photos per minute | seconds |")
        print("| --- | --- | --- |")
        for count in [int(n) for n in arguments.workers.split(",")]:
            store = postgres.database()
            workers = [Process([arguments.binary, "worker", "--store", store, "--models", arguments.models,
                                "--threads", str(arguments.threads)], "taking jobs") for _ in range(count)]
            replica = serve(["--store", store, "--no-inference"], arguments.binary, arguments.models, results)
            processes = workers + [replica]
            post(replica.port(), photo)  # warm-up through the whole path
            start = time.time()
            with ThreadPoolExecutor(arguments.concurrency) as pool:
                list(pool.map(lambda _: post(replica.port(), photo), range(arguments.requests)))
            seconds = time.time() - start
            print(f"| {count} | {arguments.requests / seconds * 60:.1f} | {seconds:.1f} |", flush=True)
            for process in processes:
                process.stop()
            processes = []

        small = gradient_png()

        def median_latency(port):
            post(port, small)
            times = []
            for _ in range(arguments.single):
                start = time.time()
                post(port, small)
                times.append(time.time() - start)
            return statistics.median(times)

        # Alternated, so both see the same machine.
        embedded = serve(["--threads", str(arguments.threads)], arguments.binary, arguments.models, results)
        store = postgres.database()
        worker = Process([arguments.binary, "worker", "--store", store, "--models", arguments.models, "--threads", str(arguments.threads)],
                         "taking jobs")
        replica = serve(["--store", store, "--no-inference"], arguments.binary, arguments.models, results)
        processes = [embedded, worker, replica]
        local, cluster = [], []
        for _ in range(3):
            local.append(median_latency(embedded.port()))
            cluster.append(median_latency(replica.port()))
        local_median, cluster_median = statistics.median(local), statistics.median(cluster)
        print(f"\none request of a small faceless PNG (64x48), median of {arguments.single} x 3 alternated: embedded {local_median * 1000:.0f} ms, "
              f"cluster (replica + 1 worker) {cluster_median * 1000:.0f} ms, database path +{(cluster_median - local_median) * 1000:.0f} ms")
    finally:
        for process in processes:
            process.stop()
        postgres.stop()
        shutil.rmtree(results, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
