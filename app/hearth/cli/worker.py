"""``hearth worker``: lend this computer's memory and processor to a model loaded on another computer.

It runs llama.cpp's RPC server from this same Hearth install. Hearth never starts one on its own: a worker runs only
while this command runs, in the foreground, until Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys

from hearth.core.engine.workers import DEFAULT_PORT, PROTOCOL_VERSION, is_loopback_host
from hearth.core.errors import HearthError, WorkerError
from hearth.core.machine.cpu import detect_cpu
from hearth.core.units import format_size

SECURITY_WARNING = (
    "llama.cpp's RPC protocol has no password and no encryption: anyone who can reach this port can use this "
    "computer's memory and processor, and could read or change what it computes. Run workers only on a network you "
    "trust, with the port closed to everything else by a firewall."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker", help="lend this computer to a model loaded on another computer (llama.cpp RPC worker)",
        description="Run a llama.cpp RPC worker: another computer's Hearth (hearth chat --worker HOST:PORT, or "
                    "Models → Workers) can then put part of a model in this computer's memory. Runs until Ctrl+C. "
                    + SECURITY_WARNING)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only; give this computer's "
                             "address on your network to lend it to another computer)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: physical cores)")
    parser.add_argument("--cache", metavar="DIR",
                        help="keep received weights in DIR, so that loading the same model again sends only hashes")
    parser.add_argument("--cpu", action="store_true", help="lend the CPU and RAM even if this computer has a GPU")


def _port_free(host: str, port: int) -> str:
    """"" if the address can be listened on, else why not in words."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            return f"port {port} is already in use on {host} (is a worker already running? use --port)"
        return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return ""


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    host = str(args.host).strip()
    if ":" in host:
        err.write("hearth: llama.cpp's workers listen on IPv4 addresses or host names only.\n")
        return 2
    if not 0 < args.port < 65536:
        err.write(f"hearth: {args.port} is not a port number.\n")
        return 2
    problem = _port_free(host, args.port)
    if problem:
        err.write(f"hearth: {problem}.\n")
        return 1
    from hearth.core.engine import rpc  # llama.cpp is loaded only once the arguments are known to be good

    try:
        rpc.require_rpc()
        devices = rpc.worker_devices(cpu_only=args.cpu)
    except HearthError as exc:
        err.write(f"hearth: {exc.message}\n")
        if exc.hint:
            err.write(f"  {exc.hint}\n")
        return 1
    if not devices:
        err.write(f"hearth: {WorkerError('llama.cpp found no device to lend on this computer.').message}\n")
        return 1
    threads = args.threads or detect_cpu().physical_cores
    lent = ", ".join(f"{d.description or d.name} ({format_size(d.memory_free)} free)" for d in devices)
    endpoint = f"{host}:{args.port}"
    err.write(f"Hearth worker on {endpoint} (llama.cpp RPC protocol {'.'.join(map(str, PROTOCOL_VERSION))}), "
              f"lending {lent}, {threads} threads.\n")
    if is_loopback_host(host):
        err.write("Listening on this computer only (loopback). To lend it to another computer, start it with "
                  "--host and this computer's address on your network.\n")
    else:
        where = "every network this computer is on" if host in ("0.0.0.0", "") else f"the network of {host}"
        err.write(f"WARNING: listening on {where}.\n")
    err.write(f"WARNING: {SECURITY_WARNING}\n")
    err.write(f"On the other computer: hearth chat --worker <this computer's address>:{args.port} (or Models → "
              "Workers). Ctrl+C stops the worker.\n")
    err.flush()
    # llama.cpp's server loop never returns to Python, so Python's handlers could not run: let the signals end it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.stdout.flush()
    rpc.serve(endpoint, cache_dir=os.path.expanduser(args.cache) if args.cache else None, threads=threads,
              devices=devices)
    err.write("hearth: the worker stopped: llama.cpp could not listen or serve on that address (see above).\n")
    return 1
