package dev.phiedge.agent.telemetry;

import dev.phiedge.agent.config.HttpSettings;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The agent's HTTP endpoint for monitoring, on the JDK's own server ({@code com.sun.net.httpserver}, module
 * {@code jdk.httpserver}: no dependency), served by one thread of its own:
 * <ul>
 *   <li>{@code GET /metrics}: the counters of the stats message in the Prometheus text exposition format
 *       0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), Content-Type
 *       {@value #METRICS_CONTENT_TYPE};</li>
 *   <li>{@code GET /healthz}: 200 {@code {"status":"ok"}} when the agent is connected to its broker and
 *       its model is loaded, else 503 {@code {"status":"unavailable","reason":"..."}} saying which is not;</li>
 *   <li>{@code HEAD} of either: the same status and headers without a body; any other method 405 (with
 *       {@code Allow: GET, HEAD}); any other path 404.</li>
 * </ul>
 * It reads the agent only through the suppliers it is given, on its own thread, at each request. There
 * is no authentication: it listens on loopback unless configured otherwise.
 */
public final class MetricsServer implements AutoCloseable {

    public static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    public static final String JSON_CONTENT_TYPE = "application/json";

    private final HttpSettings settings;
    private final Supplier<AgentStats.Snapshot> stats;
    private final IntSupplier queueDepth;
    private final IntSupplier queueCapacity;
    private final LongSupplier outboxBacklog;
    private final BooleanSupplier connected;
    private final BooleanSupplier modelLoaded;
    private final String deviceId;
    private final String modelName;
    private HttpServer server;
    private ExecutorService executor;

    /**
     * A server that is not started yet.
     *
     * @param stats         the agent's counters ({@code AgentStats::snapshot})
     * @param queueDepth    events waiting now, all routes together
     * @param queueCapacity the most events that may wait, all routes together
     * @param outboxBacklog results and reports on disk waiting for the broker
     * @param connected     connected to the broker (and subscribed)
     * @param modelLoaded   the model is loaded and warmed up, ready to answer
     */
    public MetricsServer(HttpSettings settings, Supplier<AgentStats.Snapshot> stats, IntSupplier queueDepth,
                         IntSupplier queueCapacity, LongSupplier outboxBacklog, BooleanSupplier connected,
                         BooleanSupplier modelLoaded, String deviceId, String modelName) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.stats = Objects.requireNonNull(stats, "stats");
        this.queueDepth = Objects.requireNonNull(queueDepth, "queueDepth");
        this.queueCapacity = Objects.requireNonNull(queueCapacity, "queueCapacity");
        this.outboxBacklog = Objects.requireNonNull(outboxBacklog, "outboxBacklog");
        this.connected = Objects.requireNonNull(connected, "connected");
        this.modelLoaded = Objects.requireNonNull(modelLoaded, "modelLoaded");
        this.deviceId = Objects.requireNonNull(deviceId, "deviceId");
        this.modelName = Objects.requireNonNull(modelName, "modelName");
    }

    /**
     * Binds and starts serving.
     *
     * @throws IOException the address cannot be bound (in use, not an address of this machine); the
     *                     message names the address
     */
    public synchronized void start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        InetSocketAddress address = settings.address();
        if (address.isUnresolved()) {
            throw new IOException("cannot listen on " + settings.listen() + ": unknown host '" + settings.host() + "'");
        }
        HttpServer created;
        try {
            created = HttpServer.create(address, 16);
        } catch (BindException e) {
            throw new IOException("cannot listen on " + settings.listen() + ": " + e.getMessage()
                    + " (http.listen: is another process using the port, or is the host not this machine's?)", e);
        }
        ExecutorService threads = Executors.newSingleThreadExecutor(r ->
                Thread.ofPlatform().name("metrics-http").daemon(true).unstarted(r));
        created.setExecutor(threads);
        created.createContext("/", this::handle);
        created.start();
        server = created;
        executor = threads;
        Logger.info("Metrics and health on http://{}/metrics and /healthz", listening());
    }

    /** The port bound (the actual one when the settings ask for port 0). */
    public synchronized int port() {
        if (server == null) {
            throw new IllegalStateException("not started");
        }
        return server.getAddress().getPort();
    }

    private String listening() {
        return new HttpSettings(settings.host(), port()).listen();
    }

    /** Stops serving (an exchange in progress is cut) and ends the thread. Safe to call more than once. */
    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
            server = null;
            executor = null;
        }
    }

    private void handle(HttpExchange exchange) {
        try {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            boolean head = method.equals("HEAD");
            if (!path.equals("/metrics") && !path.equals("/healthz")) {
                respond(exchange, 404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n", head);
                return;
            }
            if (!head && !method.equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                respond(exchange, 405, "text/plain; charset=utf-8", "method not allowed: use GET or HEAD\n", false);
                return;
            }
            if (path.equals("/metrics")) {
                respond(exchange, 200, METRICS_CONTENT_TYPE, metricsText(), head);
            } else {
                Health health = health();
                respond(exchange, health.ok() ? 200 : 503, JSON_CONTENT_TYPE, health.json(), head);
            }
        } catch (IOException e) {
            Logger.debug("Answering {} failed: {}", exchange.getRequestURI(), e.getMessage()); // the client went away
        } catch (RuntimeException e) {
            // A supplier failed: answer 500 rather than leave the scraper waiting, and keep serving.
            Logger.error(e, "Serving {} failed", exchange.getRequestURI());
            try {
                respond(exchange, 500, "text/plain; charset=utf-8", "internal error\n", false);
            } catch (IOException | RuntimeException ignored) {
                // the headers were already sent
            }
        } finally {
            exchange.close();
        }
    }

    private static void respond(HttpExchange exchange, int status, String contentType, String body, boolean head)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if (head) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** What {@code /healthz} answers: ok, or the reasons it is not. */
    public record Health(boolean ok, List<String> reasons) {
        public Health {
            reasons = List.copyOf(reasons);
        }

        /** {@code {"status":"ok"}}, or {@code {"status":"unavailable","reason":"..."}} with the reasons joined by "; ". */
        public String json() {
            if (ok) {
                return "{\"status\":\"ok\"}";
            }
            return "{\"status\":\"unavailable\",\"reason\":\"" + jsonEscape(String.join("; ", reasons)) + "\"}";
        }
    }

    /** The agent's health now: the model loaded, and connected to the broker. */
    public Health health() {
        List<String> reasons = new ArrayList<>(2);
        if (!modelLoaded.getAsBoolean()) {
            reasons.add("the model is not loaded");
        }
        if (!connected.getAsBoolean()) {
            reasons.add("not connected to the broker");
        }
        return new Health(reasons.isEmpty(), reasons);
    }

    private static String jsonEscape(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    /** The {@code /metrics} body now. */
    public String metricsText() {
        AgentStats.Snapshot s = stats.get();
        Exposition e = new Exposition();
        e.family("phi_edge_info", "gauge", "The agent's device id and model; always 1.")
                .sample("phi_edge_info", labels("device", deviceId, "model", modelName), 1);
        e.family("phi_edge_mqtt_connected", "gauge", "1 while connected to the MQTT broker, else 0.")
                .sample("phi_edge_mqtt_connected", connected.getAsBoolean() ? 1 : 0);
        e.family("phi_edge_model_loaded", "gauge", "1 once the model is loaded and ready to answer, else 0.")
                .sample("phi_edge_model_loaded", modelLoaded.getAsBoolean() ? 1 : 0);

        counter(e, "phi_edge_events_received_total", "Events received from the broker (and GPIO inputs).", s.received());
        counter(e, "phi_edge_events_processed_total", "Events answered, counted once the result is queued for the broker.",
                s.processed());
        e.family("phi_edge_events_dropped_total", "counter", "Accepted events never answered, by reason.");
        for (DropReason reason : DropReason.values()) {
            e.sample("phi_edge_events_dropped_total", labels("reason", reason.wireName()),
                    s.dropped().getOrDefault(reason, 0L));
        }
        e.family("phi_edge_events_rejected_total", "counter", "Events refused (and reported on the errors topic), by reason.");
        for (RejectReason reason : RejectReason.values()) {
            e.sample("phi_edge_events_rejected_total", labels("reason", reason.wireName()),
                    s.rejected().getOrDefault(reason, 0L));
        }
        counter(e, "phi_edge_events_duplicates_total",
                "Events the broker sent again that were already journaled (acknowledged, not answered twice).", s.duplicates());
        counter(e, "phi_edge_outbox_delivered_total", "Outbox messages (results, reports) acknowledged by the broker.",
                s.delivered());
        counter(e, "phi_edge_publish_refused_total", "Publishes the broker refused for good (reason code 0x80 or more).",
                s.publishRefused());
        counter(e, "phi_edge_subscribe_refused_total", "Subscriptions the broker refused.", s.subscribeRefused());
        counter(e, "phi_edge_outbox_overflow_total", "Undelivered messages dropped at the store's size limit.",
                s.outboxDropped());
        counter(e, "phi_edge_events_filtered_total", "Events a route's when: conditions left out (not errors).",
                s.filtered());
        counter(e, "phi_edge_frigate_writeback_failed_total", "Summaries not written back to Frigate.",
                s.writebackFailed());
        counter(e, "phi_edge_prompt_tokens_total", "Prompt tokens evaluated.", s.promptTokens());
        counter(e, "phi_edge_generated_tokens_total", "Tokens generated.", s.generatedTokens());

        gauge(e, "phi_edge_queue_depth", "Events waiting for the model now, all routes together.", queueDepth.getAsInt());
        gauge(e, "phi_edge_queue_capacity", "The most events that may wait, all routes together.", queueCapacity.getAsInt());
        gauge(e, "phi_edge_outbox_backlog", "Results and reports on disk waiting for the broker.", outboxBacklog.getAsLong());

        // Quantiles over the most recent events (AgentStats keeps a window of them); NaN before the first.
        e.family("phi_edge_event_latency_seconds", "summary",
                "End-to-end latency of answered events (queue wait plus inference), over the most recent events.");
        boolean none = s.processed() == 0;
        e.sample("phi_edge_event_latency_seconds", labels("quantile", "0.5"), none ? Double.NaN : s.latencyP50Ms() / 1000.0);
        e.sample("phi_edge_event_latency_seconds", labels("quantile", "0.95"), none ? Double.NaN : s.latencyP95Ms() / 1000.0);
        e.sample("phi_edge_event_latency_seconds_count", s.processed());

        gauge(e, "phi_edge_tokens_per_second", "Prompt and generated tokens per second of inference time, since start.",
                s.tokensPerSecond());
        Runtime rt = Runtime.getRuntime();
        gauge(e, "phi_edge_jvm_heap_used_bytes", "Java heap in use.", rt.totalMemory() - rt.freeMemory());
        gauge(e, "phi_edge_jvm_heap_max_bytes", "The most Java heap the agent may use (-Xmx).", rt.maxMemory());
        return e.text();
    }

    private static void counter(Exposition e, String name, String help, long value) {
        e.family(name, "counter", help).sample(name, value);
    }

    private static void gauge(Exposition e, String name, String help, double value) {
        e.family(name, "gauge", help).sample(name, value);
    }

    private static Map<String, String> labels(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
