"""A counting proxy between a client and PostgreSQL, for transfer measurements.

It listens on a Unix socket ``<folder>/.s.PGSQL.<port>`` (so a client reaches it
with libpq ``host=<folder> port=<port>``, and never asks for SSL) and forwards
every connection to the real server. It counts bytes in both directions and,
by following the protocol's message framing (type byte + int32 length,
PostgreSQL docs 55.7 "Message Formats"), the rows the server sends:

- COPY rows: ``COPY ... TO STDOUT`` sends one ``CopyData`` ('d') per row plus
  one more per COPY for a binary COPY's trailer, so rows = 'd' messages minus
  ``CopyOutResponse`` ('H') messages. DuckDB's postgres extension moves all
  table data this way (attached scans and ``postgres_query`` alike);
- query rows: ``DataRow`` ('D') messages, i.e. results of ordinary queries
  (catalog lookups and the like);
- round trips: ``ReadyForQuery`` ('Z') messages. The server sends one when a
  connection is ready, after each simple Query (however many statements it
  holds) and after each extended-protocol Sync, and a client waits for it
  before its next request: each one is a wait of the client on the server.
  Connections are counted too (each starts with its own 'Z').

Rows sent to the server by ``COPY FROM STDIN`` arrive in client-sized chunks,
so that direction is measured in bytes.

Used only for measurements that are not timed (forwarding through Python
costs time): ``before = proxy.traffic()``, run the step, ``proxy.traffic() - before``.
"""

import os
import socket
import tempfile
import threading
from dataclasses import dataclass
from typing import Dict
from typing import Optional

_CHUNK = 256 * 1024


@dataclass
class Traffic:
    """What crossed the proxy: bytes each way and rows from the server."""

    bytes_to_server: int = 0
    bytes_from_server: int = 0
    copy_data: int = 0  # 'd' messages from the server
    copy_outs: int = 0  # 'H' messages (one per COPY TO STDOUT)
    query_rows: int = 0  # 'D' messages
    round_trips: int = 0  # 'Z' messages
    connections: int = 0  # client connections accepted

    @property
    def copy_rows(self) -> int:
        """Rows received through ``COPY ... TO STDOUT (FORMAT binary)``."""
        return self.copy_data - self.copy_outs

    def __sub__(self, other: "Traffic") -> "Traffic":
        return Traffic(**{k: v - getattr(other, k) for k, v in vars(self).items()})

    def to_json(self) -> Dict[str, int]:
        """What crossed, for reports."""
        return {
            "copy_rows_from_pg": self.copy_rows,
            "query_rows_from_pg": self.query_rows,
            "bytes_from_pg": self.bytes_from_server,
            "bytes_to_pg": self.bytes_to_server,
            "round_trips": self.round_trips,
            "connections": self.connections,
        }


_COUNTED = {
    ord("d"): "copy_data",
    ord("H"): "copy_outs",
    ord("D"): "query_rows",
    ord("Z"): "round_trips",
}


class _ServerStream:
    """Incremental parser of server messages: counts the types in ``_COUNTED``."""

    def __init__(self) -> None:
        self.header = b""
        self.skip = 0  # payload bytes of the current message still to pass

    def feed(self, data: bytes) -> Dict[int, int]:
        """Consume ``data``; return message type -> count of messages that started in it."""
        counts: Dict[int, int] = {}
        pos, size = 0, len(data)
        while pos < size:
            if self.skip:
                step = min(self.skip, size - pos)
                self.skip -= step
                pos += step
                continue
            need = 5 - len(self.header)
            if self.header or size - pos < 5:
                self.header += data[pos : pos + need]
                pos += min(need, size - pos)
                if len(self.header) < 5:
                    break
                head, self.header = self.header, b""
            else:
                head = data[pos : pos + 5]
                pos += 5
            counts[head[0]] = counts.get(head[0], 0) + 1
            self.skip = int.from_bytes(head[1:5], "big") - 4
        return counts


class CountingProxy:
    """Forward a Unix socket to the server, counting traffic (see the module docstring).

    Args:
        upstream_host: the server's socket folder (starts with '/') or host name.
        port: the server's port; the proxy's socket uses the same number.

    Use as a context manager; :attr:`folder` is the libpq ``host`` to use.
    """

    def __init__(self, upstream_host: str, port: int):
        self.upstream_host = upstream_host
        self.port = port
        self.folder = tempfile.mkdtemp(prefix="dbt_pg_bench_proxy_")
        self._path = os.path.join(self.folder, f".s.PGSQL.{port}")
        self._lock = threading.Lock()
        self._traffic = Traffic()
        self._listener: Optional[socket.socket] = None
        self._closed = False

    def __enter__(self) -> "CountingProxy":
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self._path)
        os.chmod(self._path, 0o777)
        self._listener.listen(64)
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        if self._listener is not None:
            self._listener.close()
        try:
            os.unlink(self._path)
            os.rmdir(self.folder)
        except OSError:
            pass

    def traffic(self) -> Traffic:
        """A snapshot of the totals so far (subtract two snapshots for one step)."""
        with self._lock:
            return Traffic(**vars(self._traffic))

    def _connect_upstream(self) -> socket.socket:
        if self.upstream_host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(os.path.join(self.upstream_host, f".s.PGSQL.{self.port}"))
            return sock
        return socket.create_connection((self.upstream_host, self.port))

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._traffic.connections += 1
            for args in ((client, server, False), (server, client, True)):
                thread = threading.Thread(target=self._pump, args=args, daemon=True)
                thread.start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        parser = _ServerStream() if from_server else None
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                counts = parser.feed(data) if parser is not None else {}
                with self._lock:
                    if from_server:
                        self._traffic.bytes_from_server += len(data)
                        for kind, n in counts.items():
                            if kind in _COUNTED:
                                field = _COUNTED[kind]
                                setattr(self._traffic, field, getattr(self._traffic, field) + n)
                    else:
                        self._traffic.bytes_to_server += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()
