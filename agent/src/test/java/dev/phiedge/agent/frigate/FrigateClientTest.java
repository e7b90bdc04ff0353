package dev.phiedge.agent.frigate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.phiedge.agent.config.FrigateConfig;
import dev.phiedge.agent.template.PayloadReader;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The write-back against a real HTTP server on 127.0.0.1 that this test owns, answering as Frigate's
 * "Set event description" endpoint does (frigate/api/event.py: 200 {"success": true, "message": ...}, or
 * 404 {"success": false, "message": "Event <id> not found"}).
 */
class FrigateClientTest {

    private static final String ID = "1607123955.475377-mxklsc"; // the id in Frigate's MQTT documentation
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** One request as the server saw it. */
    record Seen(String method, String path, String contentType, String authorization, String body) {}

    /** What the server does with request number n (from 0): its status and body, after an optional wait. */
    interface Answer {
        int status(int n, HttpExchange exchange) throws Exception;
    }

    private HttpServer server;
    private ExecutorService serverThreads;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final BlockingQueue<List<String>> failures = new LinkedBlockingQueue<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private FrigateClient client;

    private URI start(Answer answer) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        serverThreads = Executors.newCachedThreadPool();
        server.setExecutor(serverThreads);
        AtomicInteger count = new AtomicInteger();
        server.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            seen.add(new Seen(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                    exchange.getRequestHeaders().getFirst("Content-Type"),
                    exchange.getRequestHeaders().getFirst("Authorization"), body));
            try {
                int status = answer.status(count.getAndIncrement(), exchange);
                byte[] reply = (status == 404
                        ? "{\"success\": false, \"message\": \"Event " + ID + " not found\"}"
                        : status < 300 ? "{\"success\": true, \"message\": \"Event " + ID + " description set\"}"
                        : "Internal Server Error").getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", status < 500 ? "application/json" : "text/plain");
                exchange.sendResponseHeaders(status, reply.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(reply);
                }
            } catch (Exception e) {
                exchange.close(); // the client gave up on this one
            }
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private FrigateClient client(URI url, Optional<String> token, Duration timeout, int retries, Duration backoff,
                                 int capacity) {
        client = new FrigateClient(url, token, timeout, retries, backoff, capacity, 16,
                (id, reason, detail) -> failures.add(List.of(id, reason, detail)));
        return client;
    }

    private FrigateClient client(URI url, int retries) {
        return client(url, Optional.empty(), Duration.ofSeconds(5), retries, Duration.ofMillis(20), 8);
    }

    @AfterEach
    void stop() {
        release.countDown();
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.stop(0);
            serverThreads.shutdownNow();
        }
    }

    /** Waits for request number {@code n} (from 1) to reach the server. */
    private void awaitRequests(int n) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (seen.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(seen.size() >= n, "expected " + n + " requests, got " + seen);
    }

    @Test
    void sendsTheDocumentedRequest() throws Exception {
        URI url = start((n, exchange) -> 200);
        FrigateClient c = client(url, Optional.of("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"), Duration.ofSeconds(5), 3,
                Duration.ofMillis(20), 8);
        String text = "A person in a \"red\" coat walks up the driveway\nand leaves a parcel.";
        c.submit(ID, text);
        assertTrue(c.awaitIdle(WAIT));
        assertEquals(1, seen.size(), seen.toString());
        Seen request = seen.getFirst();
        assertEquals("POST", request.method());
        assertEquals("/api/events/1607123955.475377-mxklsc/description", request.path());
        assertEquals("application/json", request.contentType());
        assertEquals("Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln", request.authorization());
        assertEquals("{\"description\":\"A person in a \\\"red\\\" coat walks up the driveway\\nand leaves a parcel.\"}",
                request.body());
        assertEquals(Map.of("description", text), new ObjectMapper().readValue(request.body(), Map.class));
        assertEquals(new FrigateClient.Counts(1, 0, 0, 0, 0), c.counts());
        assertNull(failures.poll());
    }

    @Test
    void withoutATokenThereIsNoAuthorizationAndABasePathIsKept() throws Exception {
        URI url = start((n, exchange) -> 200);
        FrigateClient c = client(URI.create(url + "/frigate"), 0);
        c.submit("id with space/and slash", "A car leaves.");
        assertTrue(c.awaitIdle(WAIT));
        assertEquals("/frigate/api/events/id%20with%20space%2Fand%20slash/description", seen.getFirst().path());
        assertNull(seen.getFirst().authorization());
    }

    @Test
    void theConfiguredClientReadsItsTokenFromTheFile() throws Exception {
        URI url = start((n, exchange) -> 200);
        Path token = dir.resolve("frigate.token");
        Files.writeString(token, "  tok.en-123  \n");
        client = new FrigateClient(new FrigateConfig(url, Optional.of(token), Duration.ofSeconds(5), 0),
                (id, reason, detail) -> failures.add(List.of(id, reason, detail)));
        client.submit(ID, "A dog crosses the yard.");
        assertTrue(client.awaitIdle(WAIT));
        assertEquals("Bearer tok.en-123", seen.getFirst().authorization());
    }

    @Test
    void notFoundIsReportedAndNotRetried() throws Exception {
        URI url = start((n, exchange) -> 404);
        FrigateClient c = client(url, 3);
        c.submit(ID, "A person at the door.");
        List<String> failure = failures.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(failure);
        assertEquals(ID, failure.get(0));
        assertEquals("frigate_writeback_failed", failure.get(1));
        assertTrue(failure.get(2).startsWith("HTTP 404 (Event " + ID + " not found): Frigate does not know event " + ID),
                failure.get(2));
        assertTrue(failure.get(2).endsWith("(not retried)"), failure.get(2));
        assertTrue(c.awaitIdle(WAIT));
        Thread.sleep(200); // ten back-off periods: a retry would have come
        assertEquals(1, seen.size(), seen.toString());
        assertEquals(new FrigateClient.Counts(0, 1, 0, 0, 0), c.counts());
    }

    @Test
    void unauthorizedIsNotRetriedEither() throws Exception {
        URI url = start((n, exchange) -> 401);
        FrigateClient c = client(url, 3);
        c.submit(ID, "A person at the door.");
        List<String> failure = failures.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(failure);
        assertTrue(failure.get(2).startsWith("HTTP 401"), failure.get(2));
        assertTrue(failure.get(2).contains("not authorized (check frigate.token_file"), failure.get(2));
        Thread.sleep(200);
        assertEquals(1, seen.size());
    }

    @Test
    void aServerErrorIsRetriedUntilItSucceeds() throws Exception {
        URI url = start((n, exchange) -> n == 0 ? 500 : 200);
        FrigateClient c = client(url, 3);
        c.submit(ID, "A car parks in the driveway.");
        assertTrue(c.awaitIdle(WAIT));
        assertEquals(2, seen.size(), seen.toString());
        assertEquals(seen.get(0).body(), seen.get(1).body());
        assertEquals("{\"description\":\"A car parks in the driveway.\"}", seen.get(1).body());
        assertNull(failures.poll());
        assertEquals(new FrigateClient.Counts(1, 0, 0, 0, 0), c.counts());
    }

    @Test
    void aRetryCarriesTheNewestDescriptionOfTheEvent() throws Exception {
        URI url = start((n, exchange) -> n == 0 ? 503 : 200);
        FrigateClient c = client(url, Optional.empty(), Duration.ofSeconds(5), 3, Duration.ofMillis(500), 8);
        c.submit(ID, "older");
        awaitRequests(1);
        c.submit(ID, "newer"); // during the 500 ms back-off
        assertTrue(c.awaitIdle(WAIT));
        assertEquals(List.of("{\"description\":\"older\"}", "{\"description\":\"newer\"}"),
                seen.stream().map(Seen::body).toList());
    }

    @Test
    void aTimeoutIsRetriedThenReported() throws Exception {
        URI url = start((n, exchange) -> {
            release.await(WAIT.toSeconds(), TimeUnit.SECONDS); // far past the client's 300 ms
            return 200;
        });
        FrigateClient c = client(url, Optional.empty(), Duration.ofMillis(300), 1, Duration.ofMillis(20), 8);
        long start = System.nanoTime();
        c.submit(ID, "A person waits at the gate.");
        List<String> failure = failures.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertNotNull(failure);
        assertEquals("frigate_writeback_failed", failure.get(1));
        assertEquals("gave up after 2 attempts; the last: no answer within 300 ms", failure.get(2));
        assertEquals(2, seen.size(), seen.toString());
        assertTrue(elapsedMs >= 600, "two attempts of 300 ms each, took " + elapsedMs + " ms");
        assertEquals(new FrigateClient.Counts(0, 1, 0, 0, 0), c.counts());
    }

    @Test
    void aServerThatIsNotThereIsRetriedThenReported() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        FrigateClient c = client(URI.create("http://127.0.0.1:" + port), 2);
        c.submit(ID, "Nobody listens.");
        List<String> failure = failures.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(failure);
        assertTrue(failure.get(2).startsWith("gave up after 3 attempts; the last: "), failure.get(2));
        assertTrue(failure.get(2).contains("connect"), failure.get(2));
    }

    @Test
    void coalescesByEventIdAndDescribesEachEventOnce() throws Exception {
        CountDownLatch firstArrived = new CountDownLatch(1);
        URI url = start((n, exchange) -> {
            if (n == 0) {
                firstArrived.countDown();
                release.await(WAIT.toSeconds(), TimeUnit.SECONDS); // a slow Frigate
            }
            return 200;
        });
        FrigateClient c = client(url, 3);
        c.submit("event-a", "A: the first description");
        assertTrue(firstArrived.await(WAIT.toSeconds(), TimeUnit.SECONDS));
        // while A is being written: two descriptions of B wait, the newer replaces the older
        c.submit("event-b", "B: older");
        c.submit("event-b", "B: newer");
        c.submit("event-a", "A: arrived while A was being written");
        release.countDown();
        assertTrue(c.awaitIdle(WAIT));
        // after success, later descriptions of the same events are skipped
        c.submit("event-b", "B: after it was written");
        c.submit("event-a", "A: after it was written");
        assertTrue(c.awaitIdle(WAIT));
        Thread.sleep(100);
        assertEquals(List.of(
                        new Seen("POST", "/api/events/event-a/description", "application/json", null,
                                "{\"description\":\"A: the first description\"}"),
                        new Seen("POST", "/api/events/event-b/description", "application/json", null,
                                "{\"description\":\"B: newer\"}")),
                seen);
        assertEquals(new FrigateClient.Counts(2, 0, 0, 1, 3), c.counts());
        assertNull(failures.poll());
    }

    @Test
    void aFullQueueDropsTheOldestWaitingDescriptionAndSaysSo() throws Exception {
        CountDownLatch firstArrived = new CountDownLatch(1);
        URI url = start((n, exchange) -> {
            if (n == 0) {
                firstArrived.countDown();
                release.await(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
            return 200;
        });
        FrigateClient c = client(url, Optional.empty(), Duration.ofSeconds(5), 0, Duration.ofMillis(20), 2);
        c.submit("busy", "being written");
        assertTrue(firstArrived.await(WAIT.toSeconds(), TimeUnit.SECONDS));
        long start = System.nanoTime();
        c.submit("p1", "one");
        c.submit("p2", "two");
        c.submit("p3", "three"); // the queue holds 2: p1 goes
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 1000, "submit never waits");
        List<String> failure = failures.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(List.of("p1", "frigate_writeback_failed", "dropped: 2 descriptions were already waiting for "
                + "Frigate (the oldest waiting one is dropped to make room)"), failure);
        release.countDown();
        assertTrue(c.awaitIdle(WAIT));
        assertEquals(List.of("/api/events/busy/description", "/api/events/p2/description", "/api/events/p3/description"),
                seen.stream().map(Seen::path).toList());
        assertEquals(new FrigateClient.Counts(3, 0, 1, 0, 0), c.counts());
    }

    @Test
    void anEmptyDescriptionOrIdIsReportedNotSent() throws Exception {
        URI url = start((n, exchange) -> 200);
        FrigateClient c = client(url, 3);
        c.submit(ID, "  \n");
        c.submit("", "A person.");
        List<String> empty = failures.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(ID, empty.get(0));
        assertTrue(empty.get(2).startsWith("the description is empty"), empty.get(2));
        assertTrue(failures.poll(WAIT.toSeconds(), TimeUnit.SECONDS).get(2).startsWith("no Frigate event id"));
        assertTrue(c.awaitIdle(WAIT));
        assertTrue(seen.isEmpty());
        assertEquals(new FrigateClient.Counts(0, 2, 0, 0, 0), c.counts());
    }

    @Test
    void afterCloseNothingIsSent() throws Exception {
        URI url = start((n, exchange) -> 200);
        FrigateClient c = client(url, 3);
        c.close();
        c.submit(ID, "Too late.");
        Thread.sleep(100);
        assertTrue(seen.isEmpty());
        assertEquals(1, c.counts().dropped());
        assertNull(failures.poll());
    }

    @Test
    void closeWithGraceWritesWhatIsQueued() throws Exception {
        URI url = start((n, exchange) -> 200);
        FrigateClient c = client(url, 3);
        c.submit("e1", "one");
        c.submit("e2", "two");
        c.close(Duration.ofSeconds(5));
        assertEquals(2, seen.size());
        assertEquals(2, c.counts().written());
    }

    @Test
    void theEventIdIsAfterId() throws Exception {
        PayloadReader reader = new PayloadReader(16);
        assertEquals(Optional.of(ID), FrigateClient.eventId(reader.read("""
                {"type": "end", "before": {"id": "%s"}, "after": {"id": "%s", "camera": "front_door"}}""".formatted(ID, ID))));
        assertEquals(Optional.empty(), FrigateClient.eventId(reader.read("{\"type\": \"end\", \"after\": {}}")));
        assertEquals(Optional.empty(), FrigateClient.eventId(reader.read("{\"id\": \"top-level\"}")));
        assertEquals(Optional.empty(), FrigateClient.eventId(reader.read("{\"after\": {\"id\": \" \"}}")));
        assertEquals(Optional.empty(), FrigateClient.eventId(reader.read("{\"after\": {\"id\": null}}")));
    }

    @Test
    void eventIdsArePercentEncodedAsOnePathSegment() {
        assertEquals(ID, FrigateClient.encodeSegment(ID));
        assertEquals("a%20b%2Fc%3F%23%25", FrigateClient.encodeSegment("a b/c?#%"));
        assertEquals("caf%C3%A9", FrigateClient.encodeSegment("café"));
        assertEquals("%2E%2E", FrigateClient.encodeSegment(".."));
        assertFalse(FrigateClient.encodeSegment("x.y").contains("%"));
    }
}
