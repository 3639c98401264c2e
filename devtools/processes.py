"""Starting worker processes (``devtools.worker``) and collecting what they return, and the
stand-ins' servers (the simulator, the message gateway, the app): each listens on the port it is
given (0: a free one) and says ``listening on <url>`` on its first line."""

import json
import subprocess
import sys
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(function: str, *args, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.worker", function, json.dumps(args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_all(function: str, argument_lists: list[tuple], *, env: dict, timeout: float) -> list:
    """Start one process per argument tuple at once; wait for all; return their JSON results
    (a failed process raises, with its stderr)."""
    processes = [start(function, *arguments, env=env) for arguments in argument_lists]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=timeout)
        if process.returncode != 0:
            raise AssertionError(f"worker {function} failed ({process.returncode}):\n{stderr}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


def serve(handler: type[BaseHTTPRequestHandler], port: int) -> None:
    """Serve on 127.0.0.1:``port`` until interrupted, after saying where (a stand-in's main)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@contextmanager
def listening(command: list[str], env: dict | None = None):
    """Run a stand-in server (``command`` asks for port 0) and yield its URL; stopped on the
    way out."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"{command[2]} did not start: {line}{process.stderr.read()}")
        yield line.split()[2]
    finally:
        process.terminate()
        process.wait(timeout=10)
