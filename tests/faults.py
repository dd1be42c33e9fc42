"""Faults of the tests' own making: a TCP proxy on loopback in front of a real service,
which a test can cut (new connections refused, open ones reset) and restore. The machine's
own services are never stopped or reconfigured."""

import contextlib
import socket
import ssl
import struct
import threading
import time


class CuttableProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream`` (host, port) until :meth:`cut`.

    Example::

        proxy = CuttableProxy(("127.0.0.1", 8070)).start()
        url = f"http://127.0.0.1:{proxy.port}/api_jsonrpc.php"
        proxy.cut()      # connections reset, new ones refused
        proxy.slow(2.0)  # each request held 2 s
        proxy.fail(500)  # each HTTP request answered 500 by the proxy
        proxy.restore()

    With ``tls`` (a server-side SSL context), clients speak HTTPS to it.
    """

    def __init__(self, upstream: tuple[str, int], tls: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        #: When given, clients speak TLS to the proxy (it ends TLS, as a reverse proxy does).
        self.tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        #: Seconds each chunk from a client waits before it is passed on (:meth:`slow`).
        self.latency = 0.0
        #: Connections accepted so far.
        self.accepted = 0
        #: While set (:meth:`fail`), each HTTP request is answered with this status here.
        self.failing: int | None = None
        #: Requests answered by :meth:`fail`'s status so far.
        self.failed = 0

    def start(self) -> "CuttableProxy":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def cut(self) -> None:
        """Reset every open connection; new ones are reset as soon as they arrive."""
        with self._lock:
            self._cut = True
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()

    def restore(self) -> None:
        """Undo :meth:`cut`, :meth:`slow` and :meth:`fail`."""
        with self._lock:
            self._cut = False
            self.latency = 0.0
            self.failing = None

    def fail(self, status: int = 500) -> None:
        """For an HTTP upstream: answer every request with ``status`` (the upstream failing,
        as a web server answers when its application is down), from now on. Open
        connections are reset, so none goes on reaching the upstream."""
        with self._lock:
            self.failing = status
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()

    def slow(self, seconds: float) -> None:
        """Hold each chunk a client sends for ``seconds`` before passing it on (a request
        answered that much later), from now on."""
        with self._lock:
            self.latency = seconds

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._cut:
                    _reset(client)
                    continue
                failing = self.failing
            if failing is not None:
                threading.Thread(target=self._answer, args=(client, failing), daemon=True).start()
                continue
            if self.tls is not None:
                try:
                    client.settimeout(5)
                    client = self.tls.wrap_socket(client, server_side=True)
                    client.settimeout(None)
                except (OSError, ssl.SSLError):  # the client refused the certificate
                    _close(client)
                    continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open |= {client, server}
                self.accepted += 1
            done = threading.Barrier(2, action=lambda c=client, s=server: _close(c, s))
            for a, b, slowed in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, done, slowed), daemon=True).start()

    def _answer(self, client: socket.socket, status: int) -> None:
        """Read one request's head and answer it with ``status``, closing the connection."""
        try:
            client.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head and (chunk := client.recv(65536)):
                head += chunk
            body = b'{"detail": "failing on purpose (tests.faults)"}'
            client.sendall(
                f"HTTP/1.1 {status} Failing\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            with self._lock:
                self.failed += 1
        except OSError:
            pass
        finally:
            _close(client)

    def _pipe(
        self,
        source: socket.socket,
        sink: socket.socket,
        done: threading.Barrier,
        slowed: bool = False,
    ) -> None:
        """One direction: an end of stream is passed on as a half close, so a response
        read until the server closes arrives whole. ``slowed``: the client's direction,
        held back by :attr:`latency`."""
        try:
            while chunk := source.recv(65536):
                if slowed and self.latency:
                    time.sleep(self.latency)  # the fault itself: a slow upstream
                sink.sendall(chunk)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            _reset(sink)
        finally:
            with self._lock:
                self._open.discard(source)
            with contextlib.suppress(OSError):
                source.shutdown(socket.SHUT_RD)
            done.wait()  # both directions ended: the pair is closed once


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with a reset (RST), as a dead peer or a cut cable shows."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
