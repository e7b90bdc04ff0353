package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The harness's own checks, fast and without the agent: the proxy forwards, holds in a black hole and
 * drops, and the tap reads the broker's acknowledgements and ACL refusals (through Paho's topic aliases).
 */
class TcpProxyTest {

    /** An echo server on a free loopback port; counts the connections it accepted. */
    private static final class Echo implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger accepted = new AtomicInteger();

        Echo() throws IOException {
            Thread.ofPlatform().daemon().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        accepted.incrementAndGet();
                        Thread.ofPlatform().daemon().start(() -> {
                            try (s) {
                                s.getInputStream().transferTo(s.getOutputStream());
                            } catch (IOException ignored) {
                                // closed
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private static String read(Socket socket, int length, int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[length];
        int n = 0;
        try {
            while (n < length) {
                int r = in.read(buffer, n, length - n);
                if (r < 0) {
                    return "EOF";
                }
                n += r;
            }
        } catch (SocketTimeoutException e) {
            return n == 0 ? "" : new String(buffer, 0, n, StandardCharsets.UTF_8);
        }
        return new String(buffer, 0, n, StandardCharsets.UTF_8);
    }

    @Test
    void forwardsHoldsInABlackHoleThenResumesAndDrops() throws Exception {
        try (Echo echo = new Echo(); TcpProxy proxy = TcpProxy.to(echo.server.getLocalPort());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            client.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
            assertEquals("ping", read(client, 4, 2000));

            proxy.blackhole();
            client.getOutputStream().write("held".getBytes(StandardCharsets.UTF_8));
            assertEquals("", read(client, 4, 500), "nothing moves in a black hole");
            // A connection born in the hole whose client gives up never reaches the server.
            int before = echo.accepted.get();
            try (Socket late = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                late.getOutputStream().write("stale".getBytes(StandardCharsets.UTF_8));
            }
            Thread.sleep(300);
            proxy.resume();
            assertEquals("held", read(client, 4, 2000), "held bytes flow on after resume()");
            Thread.sleep(300);
            assertEquals(before, echo.accepted.get(), "the abandoned connection never reached the server");

            proxy.dropConnections();
            assertEquals("EOF", readOrEof(client), "a dropped connection ends");
            try (Socket again = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                again.getOutputStream().write("anew".getBytes(StandardCharsets.UTF_8));
                assertEquals("anew", read(again, 4, 2000), "new connections are served after a drop");
            }
        }
    }

    private static String readOrEof(Socket socket) {
        try {
            return read(socket, 1, 2000);
        } catch (IOException reset) {
            return "EOF";
        }
    }

    @Test
    void theTapSeesAcknowledgementsAndAclRefusalsThroughTopicAliases() throws Exception {
        MqttTap tap = new MqttTap();
        String denied = "tap/denied";
        try (MosquittoBroker broker = MosquittoBroker.start(MosquittoBroker.Options.plain()
                     .withAcl(MosquittoBroker.allowAllExcept(denied)));
             TcpProxy proxy = TcpProxy.to(broker.port(), tap);
             ResilientClient client = new ResilientClient(proxy.url(), "tap-test", (t, m) -> { })) {
            List<Integer> codes = new java.util.ArrayList<>();
            for (int i = 1; i <= 3; i++) { // the second and third use the topic alias the first set
                codes.add(client.publish("tap/allowed", ("{\"event_id\":\"ok" + i + "\"}").getBytes(StandardCharsets.UTF_8), 1, false));
                codes.add(client.publish(denied, ("{\"event_id\":\"no" + i + "\"}").getBytes(StandardCharsets.UTF_8), 1, false));
            }
            // 0x10: accepted, no matching subscribers (a success code); 0x87: not authorized.
            assertEquals(List.of(0x10, 0x87, 0x10, 0x87, 0x10, 0x87), codes, "mosquitto's PUBACK reason codes");
            assertEquals(java.util.Set.of("ok1", "ok2", "ok3"), tap.ackedByBroker());
            assertEquals(3, tap.refusals().size(), tap.refusals().toString());
            assertTrue(tap.refusals().stream().allMatch(r -> r.topic().equals(denied) && r.reasonCode() == 0x87),
                    tap.refusals().toString());
            assertEquals(0, tap.staleAliasPublishes());
        }
    }
}
