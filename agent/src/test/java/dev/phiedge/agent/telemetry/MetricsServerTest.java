package dev.phiedge.agent.telemetry;

import dev.phiedge.agent.config.HttpSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MetricsServerTest {

    private static final String DEVICE = "edge\n01";
    private static final String MODEL = "phi3 \"mini\"\\q4";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final AtomicBoolean connected = new AtomicBoolean(true);
    private final AtomicBoolean modelLoaded = new AtomicBoolean(true);
    private final AtomicReference<AgentStats.Snapshot> snapshot = new AtomicReference<>(handBuilt());
    private MetricsServer server;

    /** Counters chosen by hand; the expected exposition lines below follow from them. */
    private static AgentStats.Snapshot handBuilt() {
        Map<DropReason, Long> dropped = new EnumMap<>(DropReason.class);
        for (DropReason r : DropReason.values()) {
            dropped.put(r, 0L);
        }
        dropped.put(DropReason.QUEUE_FULL, 3L);
        dropped.put(DropReason.COALESCED, 2L);
        Map<RejectReason, Long> rejected = new EnumMap<>(RejectReason.class);
        for (RejectReason r : RejectReason.values()) {
            rejected.put(r, 0L);
        }
        rejected.put(RejectReason.NOT_JSON, 4L);
        rejected.put(RejectReason.TOO_LARGE, 1L);
        return new AgentStats.Snapshot(42, 30, dropped, rejected, 1234, 5000, 12.5, 700, 9000, 1, 29, 2, 0, 5, 6, 1);
    }

    private MetricsServer start() throws IOException {
        server = new MetricsServer(new HttpSettings("127.0.0.1", 0), snapshot::get, () -> 7, () -> 100, () -> 3,
                connected::get, modelLoaded::get, DEVICE, MODEL);
        server.start();
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private HttpResponse<String> request(String method, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    @Test
    void metricsCarryTheSnapshotExactly() throws Exception {
        start();
        HttpResponse<String> response = request("GET", "/metrics");
        assertEquals(200, response.statusCode());
        assertEquals(Optional.of("text/plain; version=0.0.4; charset=utf-8"), response.headers().firstValue("Content-Type"));
        String body = response.body();
        assertTrue(body.endsWith("\n"), "the last line must end with a line feed");
        List<String> lines = List.of(body.split("\n"));
        for (String expected : List.of(
                // label values escape \ " and line feed as \\ \" \n
                "phi_edge_info{device=\"edge\\n01\",model=\"phi3 \\\"mini\\\"\\\\q4\"} 1",
                "phi_edge_mqtt_connected 1",
                "phi_edge_model_loaded 1",
                "phi_edge_events_received_total 42",
                "phi_edge_events_processed_total 30",
                "phi_edge_events_dropped_total{reason=\"queue_full\"} 3",
                "phi_edge_events_dropped_total{reason=\"coalesced\"} 2",
                "phi_edge_events_dropped_total{reason=\"expired\"} 0",
                "phi_edge_events_dropped_total{reason=\"shutdown\"} 0",
                "phi_edge_events_dropped_total{reason=\"loop\"} 0",
                "phi_edge_events_rejected_total{reason=\"not_json\"} 4",
                "phi_edge_events_rejected_total{reason=\"too_large\"} 1",
                "phi_edge_events_rejected_total{reason=\"inference_failed\"} 0",
                "phi_edge_events_duplicates_total 1",
                "phi_edge_outbox_delivered_total 29",
                "phi_edge_publish_refused_total 2",
                "phi_edge_subscribe_refused_total 0",
                "phi_edge_outbox_overflow_total 5",
                "phi_edge_events_filtered_total 6",
                "phi_edge_frigate_writeback_failed_total 1",
                "phi_edge_prompt_tokens_total 9000",
                "phi_edge_generated_tokens_total 700",
                "phi_edge_queue_depth 7",
                "phi_edge_queue_capacity 100",
                "phi_edge_outbox_backlog 3",
                // 1234 ms and 5000 ms in seconds, the base unit
                "phi_edge_event_latency_seconds{quantile=\"0.5\"} 1.234",
                "phi_edge_event_latency_seconds{quantile=\"0.95\"} 5",
                "phi_edge_event_latency_seconds_count 30",
                "phi_edge_tokens_per_second 12.5")) {
            assertTrue(lines.contains(expected), "missing line: " + expected + "\n" + body);
        }
        assertEquals(DropReason.values().length, lines.stream().filter(l -> l.startsWith("phi_edge_events_dropped_total{")).count());
        assertEquals(RejectReason.values().length, lines.stream().filter(l -> l.startsWith("phi_edge_events_rejected_total{")).count());
        assertWellFormed(lines);
    }

    /**
     * The format's rules, checked line by line: each metric's HELP and TYPE come once, before its samples,
     * which are one group; counters end in _total; a summary's quantiles increase.
     */
    private static void assertWellFormed(List<String> lines) {
        Set<String> families = new HashSet<>();
        String family = null;
        String type = null;
        double lastQuantile = -1;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("# HELP ")) {
                family = line.substring(7).split(" ")[0];
                assertTrue(families.add(family), "a second group for " + family);
                String next = lines.get(i + 1);
                assertTrue(next.startsWith("# TYPE " + family + " "), "no TYPE after HELP of " + family);
                type = next.substring(("# TYPE " + family + " ").length());
                assertTrue(List.of("counter", "gauge", "summary").contains(type), type);
                if (type.equals("counter")) {
                    assertTrue(family.endsWith("_total"), "counter without _total: " + family);
                }
                lastQuantile = -1;
                i++;
                continue;
            }
            String name = line.split("[{ ]")[0];
            assertTrue(name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*"), line);
            boolean inFamily = name.equals(family)
                    || type.equals("summary") && (name.equals(family + "_count") || name.equals(family + "_sum"));
            assertTrue(inFamily, "sample outside its group: " + line);
            if (type.equals("summary") && name.equals(family)) {
                double q = Double.parseDouble(line.replaceAll(".*quantile=\"([^\"]+)\".*", "$1"));
                assertTrue(q > lastQuantile, "quantiles must increase: " + line);
                lastQuantile = q;
            }
        }
    }

    @Test
    void noEventYetMeansNaNQuantiles() throws Exception {
        snapshot.set(new AgentStats.Snapshot(0, 0, Map.of(), Map.of(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        start();
        List<String> lines = List.of(request("GET", "/metrics").body().split("\n"));
        assertTrue(lines.contains("phi_edge_event_latency_seconds{quantile=\"0.5\"} NaN"), lines.toString());
        assertTrue(lines.contains("phi_edge_event_latency_seconds{quantile=\"0.95\"} NaN"), lines.toString());
        assertTrue(lines.contains("phi_edge_event_latency_seconds_count 0"), lines.toString());
        assertTrue(lines.contains("phi_edge_events_dropped_total{reason=\"queue_full\"} 0"), lines.toString());
        assertTrue(lines.contains("phi_edge_tokens_per_second 0"), lines.toString());
    }

    @Test
    void promtoolAcceptsTheMetrics() throws Exception {
        Optional<Path> promtool = promtool();
        if (promtool.isEmpty()) {
            String reason = "promtool is not installed (Debian: apt-get install prometheus); /metrics not linted";
            System.out.println("SKIPPED promtoolAcceptsTheMetrics: " + reason);
            assumeTrue(false, reason);
        }
        start();
        for (AgentStats.Snapshot s : List.of(handBuilt(),
                new AgentStats.Snapshot(0, 0, Map.of(), Map.of(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))) {
            snapshot.set(s);
            String body = request("GET", "/metrics").body();
            Process p = new ProcessBuilder(promtool.get().toString(), "check", "metrics").redirectErrorStream(true).start();
            p.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "promtool did not finish");
            assertEquals(0, p.exitValue(), "promtool check metrics:\n" + output + "\n---\n" + body);
            assertEquals("", output.strip(), "promtool's lint findings:\n" + output);
        }
    }

    private static Optional<Path> promtool() {
        List<Path> candidates = new ArrayList<>();
        for (String entry : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!entry.isEmpty()) {
                candidates.add(Path.of(entry, "promtool"));
            }
        }
        candidates.add(Path.of("/usr/bin/promtool"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    @Test
    void headAnswersWithoutBody() throws Exception {
        start();
        HttpResponse<String> metrics = request("HEAD", "/metrics");
        assertEquals(200, metrics.statusCode());
        assertEquals(Optional.of(MetricsServer.METRICS_CONTENT_TYPE), metrics.headers().firstValue("Content-Type"));
        assertEquals("", metrics.body());
        connected.set(false);
        HttpResponse<String> health = request("HEAD", "/healthz");
        assertEquals(503, health.statusCode());
        assertEquals("", health.body());
    }

    @Test
    void healthFollowsConnectionAndModel() throws Exception {
        start();
        HttpResponse<String> ok = request("GET", "/healthz");
        assertEquals(200, ok.statusCode());
        assertEquals(Optional.of("application/json"), ok.headers().firstValue("Content-Type"));
        assertEquals("{\"status\":\"ok\"}", ok.body());

        connected.set(false);
        HttpResponse<String> away = request("GET", "/healthz");
        assertEquals(503, away.statusCode());
        assertEquals("{\"status\":\"unavailable\",\"reason\":\"not connected to the broker\"}", away.body());
        assertTrue(List.of(request("GET", "/metrics").body().split("\n")).contains("phi_edge_mqtt_connected 0"));

        modelLoaded.set(false);
        assertEquals("{\"status\":\"unavailable\",\"reason\":\"the model is not loaded; not connected to the broker\"}",
                request("GET", "/healthz").body());

        connected.set(true);
        HttpResponse<String> noModel = request("GET", "/healthz");
        assertEquals(503, noModel.statusCode());
        assertEquals("{\"status\":\"unavailable\",\"reason\":\"the model is not loaded\"}", noModel.body());

        modelLoaded.set(true);
        assertEquals(200, request("GET", "/healthz").statusCode());
    }

    @Test
    void otherPathsAndMethodsAreRefused() throws Exception {
        start();
        assertEquals(404, request("GET", "/").statusCode());
        assertEquals(404, request("GET", "/metrics/extra").statusCode());
        assertEquals(404, request("GET", "/health").statusCode());
        for (String method : List.of("POST", "PUT", "DELETE")) {
            HttpResponse<String> refused = request(method, "/metrics");
            assertEquals(405, refused.statusCode(), method);
            assertEquals(Optional.of("GET, HEAD"), refused.headers().firstValue("Allow"), method);
            assertEquals(405, request(method, "/healthz").statusCode(), method);
        }
        assertEquals(200, request("GET", "/metrics?name=x").statusCode()); // a query does not change the path
    }

    @Test
    void aFailingSupplierAnswers500AndServingGoesOn() throws Exception {
        MetricsServer broken = new MetricsServer(new HttpSettings("127.0.0.1", 0),
                () -> { throw new IllegalStateException("boom"); }, () -> 0, () -> 0, () -> 0, () -> true, () -> true, "d", "m");
        try {
            broken.start();
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + broken.port() + "/metrics")).build();
            assertEquals(500, http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode());
            HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + broken.port() + "/healthz")).build();
            assertEquals(200, http.send(health, HttpResponse.BodyHandlers.ofString()).statusCode());
        } finally {
            broken.close();
        }
    }

    @Test
    void closeStopsServingAndItsThread() throws Exception {
        start();
        int port = server.port();
        assertEquals(200, request("GET", "/healthz").statusCode());
        assertTrue(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("metrics-http")));
        server.close();
        server.close(); // twice is fine
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).build();
        assertThrows(ConnectException.class, () -> http.send(request, HttpResponse.BodyHandlers.ofString()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("metrics-http") && t.isAlive())
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("metrics-http") && t.isAlive()),
                "the server's thread is still running");
        server = null;
    }

    @Test
    void aPortInUseIsReportedWithTheAddress() throws Exception {
        start();
        MetricsServer second = new MetricsServer(new HttpSettings("127.0.0.1", server.port()), snapshot::get, () -> 0,
                () -> 0, () -> 0, () -> true, () -> true, "d", "m");
        IOException e = assertThrows(IOException.class, second::start);
        assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + server.port() + ": "), e.getMessage());
        second.close();
        assertThrows(IllegalStateException.class, server::start, "a started server cannot start again");
    }
}
