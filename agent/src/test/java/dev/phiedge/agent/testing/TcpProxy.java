package dev.phiedge.agent.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy the test owns, on a free loopback port, in front of the broker: the agent's mqtt.url
 * points here, so the test can cut the network between them without touching either.
 *
 * <ul>
 *   <li>{@link #blackhole()}: bytes stop moving in both directions, but every socket stays open, as when
 *       a link goes dead without a reset: neither side learns anything until its own keepalive runs out.
 *       A side that closes its socket meanwhile is not told to the other side either (its FIN is lost
 *       too). New connections are accepted and held, unanswered, as a SYN to a dead link would be; one
 *       whose client gives up before the link comes back never reaches the broker.</li>
 *   <li>{@link #resume()}: what was held flows on (as TCP's retransmissions would deliver it), closes
 *       included.</li>
 *   <li>{@link #dropConnections()}: every connection is closed on both sides at once, as when a NAT or
 *       firewall forgets them and answers with resets; new connections are served as usual.</li>
 * </ul>
 *
 * <p>Threads are bounded: at most {@link #MAX_CONNECTIONS} connections at once, two pump threads each;
 * further connections are closed at once. An optional {@link Tap} sees every byte actually forwarded.
 */
public final class TcpProxy implements AutoCloseable {

    public static final int MAX_CONNECTIONS = 16;

    /** Which way bytes go. */
    public enum Direction { CLIENT_TO_SERVER, SERVER_TO_CLIENT }

    /** Sees the bytes the proxy forwards, per connection and direction, in order; called from the pump threads. */
    public interface Tap {
        void forwarded(int connection, Direction direction, byte[] buffer, int offset, int length);

        /** The connection is over (both sides closed). */
        default void closed(int connection) {}
    }

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final Tap tap;
    private final ExecutorService threads = Executors.newFixedThreadPool(2 * MAX_CONNECTIONS + 1, r -> {
        Thread t = new Thread(r, "tcp-proxy");
        t.setDaemon(true);
        return t;
    });
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicInteger ids = new AtomicInteger();
    private final AtomicInteger accepted = new AtomicInteger();
    private final Object gate = new Object();
    private boolean blackholed;
    private volatile boolean closed;

    private TcpProxy(int upstreamPort, Tap tap) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.upstream = new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort);
        this.tap = tap;
        threads.execute(this::acceptLoop);
    }

    /** A proxy to {@code 127.0.0.1:upstreamPort}. */
    public static TcpProxy to(int upstreamPort) throws IOException {
        return new TcpProxy(upstreamPort, (c, d, b, o, l) -> { });
    }

    /** The same, with a tap on every forwarded byte (see {@link MqttTap}). */
    public static TcpProxy to(int upstreamPort, Tap tap) throws IOException {
        return new TcpProxy(upstreamPort, tap);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** {@code tcp://127.0.0.1:PORT}, for the agent's mqtt.url. */
    public String url() {
        return "tcp://127.0.0.1:" + port();
    }

    /** Connections accepted so far (each reconnect of a client adds one). */
    public int acceptedConnections() {
        return accepted.get();
    }

    public int openConnections() {
        return links.size();
    }

    /** Stops forwarding in both directions; every socket stays open. */
    public void blackhole() {
        synchronized (gate) {
            blackholed = true;
        }
    }

    /** Forwards again what was held and what comes next. */
    public void resume() {
        synchronized (gate) {
            blackholed = false;
            gate.notifyAll();
        }
    }

    /** Closes every current connection on both sides (what was held is discarded). */
    public void dropConnections() {
        for (Link link : List.copyOf(links)) {
            link.close();
        }
    }

    /** Waits while black-holed; false when the link was closed meanwhile. */
    private boolean awaitOpen(Link link) throws InterruptedException {
        synchronized (gate) {
            while (blackholed && !link.closed && !closed) {
                gate.wait(100);
            }
        }
        return !link.closed && !closed;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            if (links.size() >= MAX_CONNECTIONS) {
                quietly(client);
                continue;
            }
            Link link = new Link(ids.incrementAndGet(), client);
            links.add(link);
            threads.execute(link::clientToServer);
        }
    }

    /** One proxied connection: the client's socket, and the broker's once the link lets it through. */
    private final class Link {
        final int id;
        final Socket client;
        volatile Socket server;
        volatile boolean closed;
        private final AtomicInteger halves = new AtomicInteger();

        Link(int id, Socket client) {
            this.id = id;
            this.client = client;
        }

        private boolean open() {
            synchronized (gate) {
                return !blackholed;
            }
        }

        /**
         * Reads the client, holding what it sends while the link is dead. The broker side is connected only
         * when the link is open, so a connection born in a black hole whose client gives up meanwhile never
         * reaches the broker (its stale CONNECT would otherwise take the client's session over later).
         */
        void clientToServer() {
            byte[] buffer = new byte[16384];
            java.io.ByteArrayOutputStream held = new java.io.ByteArrayOutputStream();
            boolean eof = false;
            boolean clean = false;
            try {
                client.setSoTimeout(100);
                InputStream in = client.getInputStream();
                while (!closed && !TcpProxy.this.closed) {
                    if (open()) {
                        if (held.size() > 0) {
                            if (server == null && eof) {
                                return; // gave up before the broker ever heard of it
                            }
                            if (!ensureServer()) {
                                return;
                            }
                            byte[] bytes = held.toByteArray();
                            held.reset();
                            tap.forwarded(id, Direction.CLIENT_TO_SERVER, bytes, 0, bytes.length);
                            server.getOutputStream().write(bytes);
                        }
                        if (eof) {
                            if (server != null) {
                                server.shutdownOutput();
                                clean = true;
                            }
                            return;
                        }
                    }
                    if (eof) {
                        synchronized (gate) {
                            gate.wait(100);
                        }
                        continue;
                    }
                    try {
                        int n = in.read(buffer);
                        if (n < 0) {
                            eof = true;
                        } else {
                            held.write(buffer, 0, n);
                        }
                    } catch (java.net.SocketTimeoutException idle) {
                        // look at the link again
                    }
                }
            } catch (IOException | InterruptedException e) {
                // reset or closed: the whole connection goes
            } finally {
                finish(clean);
            }
        }

        private boolean ensureServer() {
            if (server != null) {
                return true;
            }
            Socket s = new Socket();
            try {
                s.connect(upstream, 2000);
                s.setTcpNoDelay(true);
            } catch (IOException e) {
                quietly(s);
                return false; // the broker is down: the client sees its connection closed, as with a refusal
            }
            server = s;
            if (closed) {
                quietly(s);
                return false;
            }
            threads.execute(this::serverToClient);
            return true;
        }

        void serverToClient() {
            byte[] buffer = new byte[16384];
            boolean clean = false;
            try {
                InputStream in = server.getInputStream();
                OutputStream out = client.getOutputStream();
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (!awaitOpen(this)) {
                        return;
                    }
                    tap.forwarded(id, Direction.SERVER_TO_CLIENT, buffer, 0, n);
                    out.write(buffer, 0, n);
                }
                if (awaitOpen(this)) {
                    client.shutdownOutput();
                    clean = true;
                }
            } catch (IOException | InterruptedException e) {
                // reset or closed
            } finally {
                finish(clean);
            }
        }

        /** A direction that ended in a reset ends the connection; two clean ends (FIN both ways) do too. */
        private void finish(boolean clean) {
            if (!clean || halves.incrementAndGet() >= 2) {
                close();
            }
        }

        void close() {
            if (closed) {
                return;
            }
            closed = true;
            quietly(client);
            Socket s = server;
            if (s != null) {
                quietly(s);
            }
            links.remove(this);
            tap.closed(id);
            synchronized (gate) {
                gate.notifyAll();
            }
        }
    }

    private static void quietly(Socket socket) {
        try {
            socket.setSoLinger(true, 0); // a reset, as a dropped connection gives
        } catch (SocketException ignored) {
            // already closed
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // already closed
        }
        dropConnections();
        synchronized (gate) {
            gate.notifyAll();
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
