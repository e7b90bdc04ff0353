package dev.phiedge.agent.modelstore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on loopback that the tests own, between the pull and nginx. With a fixed target it stands in
 * for the server (the pull's URL names the relay's port); as a proxy it connects to the host and port of
 * each request's absolute-form target ({@code GET http://HOST:PORT/... HTTP/1.1}, what an HTTP client sends
 * to a proxy). It records each request's head and each response's status line, and cuts the first
 * {@code cuts} connections once {@code cutAfter} bytes of the response have gone through (both sockets
 * closed mid-body, as a dropped link does). nginx runs with keepalive_timeout 0, so every request comes
 * on a connection of its own and is recorded.
 */
final class TcpRelay implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final boolean proxy;
    private final long cutAfter;
    private final AtomicInteger cuts;
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    final List<String> statusLines = Collections.synchronizedList(new ArrayList<>());
    private final List<Socket> open = Collections.synchronizedList(new ArrayList<>());

    private TcpRelay(int targetPort, boolean proxy, int cuts, long cutAfter) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.targetPort = targetPort;
        this.proxy = proxy;
        this.cuts = new AtomicInteger(cuts);
        this.cutAfter = cutAfter;
        Thread accept = new Thread(this::acceptLoop, "relay-accept");
        accept.setDaemon(true);
        accept.start();
    }

    /** Stands in for the server on {@code targetPort}; cuts the first {@code cuts} responses after {@code cutAfter} bytes. */
    static TcpRelay to(int targetPort, int cuts, long cutAfter) throws IOException {
        return new TcpRelay(targetPort, false, cuts, cutAfter);
    }

    /** An HTTP proxy (plain http targets, absolute-form requests). */
    static TcpRelay proxy() throws IOException {
        return new TcpRelay(-1, true, 0, Long.MAX_VALUE);
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                open.add(client);
                Thread t = new Thread(() -> handle(client), "relay-connection");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int b, last = 0;
            while ((b = in.read()) >= 0) { // up to the blank line after the headers
                head.write(b);
                last = (last << 8) | b;
                if (last == 0x0D0A0D0A) break;
            }
            String text = head.toString(StandardCharsets.ISO_8859_1);
            if (text.isEmpty()) return;
            requests.add(text);
            String host = "127.0.0.1";
            int port = targetPort;
            if (proxy) {
                URI target = URI.create(text.substring(text.indexOf(' ') + 1, text.indexOf(" HTTP/")));
                host = target.getHost();
                port = target.getPort() > 0 ? target.getPort() : 80;
            }
            try (Socket upstream = new Socket(host, port)) {
                open.add(upstream);
                upstream.getOutputStream().write(head.toByteArray());
                upstream.getOutputStream().flush();
                Thread up = new Thread(() -> pipe(in, upstreamOut(upstream)), "relay-up");
                up.setDaemon(true);
                up.start();
                boolean cut = cuts.getAndDecrement() > 0;
                InputStream down = upstream.getInputStream();
                OutputStream out = client.getOutputStream();
                byte[] buf = new byte[8192];
                long sent = 0;
                ByteArrayOutputStream status = new ByteArrayOutputStream();
                boolean statusDone = false;
                int n;
                while ((n = down.read(buf)) >= 0) {
                    if (!statusDone) {
                        for (int i = 0; i < n && !statusDone; i++) {
                            if (buf[i] == '\r' || buf[i] == '\n') statusDone = true;
                            else status.write(buf[i]);
                        }
                        if (statusDone) statusLines.add(status.toString(StandardCharsets.ISO_8859_1));
                    }
                    if (cut && sent + n > cutAfter) {
                        int part = (int) Math.max(0, cutAfter - sent);
                        out.write(buf, 0, part);
                        out.flush();
                        client.setSoLinger(true, 0); // a reset, as a dropped link
                        return;
                    }
                    out.write(buf, 0, n);
                    sent += n;
                }
                out.flush();
            }
        } catch (IOException e) {
            // the other side went away
        }
    }

    private static OutputStream upstreamOut(Socket s) {
        try {
            return s.getOutputStream();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void pipe(InputStream in, OutputStream out) {
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // closed
        }
    }

    /** The recorded request heads whose request line starts with {@code prefix}. */
    List<String> requestsStartingWith(String prefix) {
        synchronized (requests) {
            return requests.stream().filter(r -> r.startsWith(prefix)).toList();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        synchronized (open) {
            for (Socket s : open) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }
}
