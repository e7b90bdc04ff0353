package dev.phiedge.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.backend.InferenceBackend;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigException;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.config.ModelSettings;
import dev.phiedge.agent.config.MqttConfig;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.gpio.GpioUnavailableException;
import dev.phiedge.agent.mqtt.MqttSetupException;
import dev.phiedge.agent.pipeline.EdgeAgent;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttSubscription;

/**
 * The demo ({@code ./scripts/demo.sh}, {@link DemoCli}): an embedded MQTT 5 broker, the agent on it with the demo configuration and
 * model, and a simulator publishing sample greenhouse readings and camera events. Each answer is printed
 * as it arrives, next to the event it answers:
 * <pre>
 * greenhouse/3/climate   temperature 41.2 C, humidity 55 %, soil 30 %, CO2 900 ppm -> critical (0.97)
 * frigate/events         new person on front_door (0.91) -> "A person appeared on front_door."
 * </pre>
 * Then everything is shut down in order (simulator, result listener, agent, broker).
 */
public final class DemoRunner {

    public static final Duration DEFAULT_PACE = Duration.ofMillis(300);
    public static final Duration DEFAULT_RESULT_TIMEOUT = Duration.ofSeconds(120);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;
    /** Events published and not answered yet, per source topic, oldest first (the worker keeps that order). */
    private final Map<String, Deque<EventSimulator.Sample>> pending = new HashMap<>();
    private int published;
    private int answered;
    private int asExpected;
    private int withExpectation;
    private int rejected;
    private final int topicWidth;

    private DemoRunner(PrintStream out, int topicWidth) {
        this.out = out;
        this.topicWidth = topicWidth;
    }

    /** The demo with its defaults: samples from {@code ../payloads} next to the configuration's folder. */
    public static int run(PrintStream out, Path configPath, Function<ModelSettings, InferenceBackend> backends) {
        Path folder = configPath.toAbsolutePath().getParent();
        return run(out, configPath, backends, folder.resolveSibling("payloads"), DEFAULT_PACE, DEFAULT_RESULT_TIMEOUT);
    }

    /**
     * @param payloads      a folder of {@code *.jsonl} samples (see {@link EventSimulator#loadFolder})
     * @param pace          time between two published events
     * @param resultTimeout how long to wait for the last answers once everything is published
     * @return 0 when every event was answered (or reported as an error), 1 otherwise
     */
    public static int run(PrintStream out, Path configPath, Function<ModelSettings, InferenceBackend> backends,
                          Path payloads, Duration pace, Duration resultTimeout) {
        AgentConfig config;
        List<EventSimulator.Sample> samples;
        try {
            config = ConfigLoader.load(configPath);
            samples = EventSimulator.loadFolder(payloads);
        } catch (ConfigException e) {
            out.println("demo: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            out.println("demo: cannot read the sample events: " + e.getMessage());
            return 1;
        }
        int width = samples.stream().mapToInt(s -> s.topic().length()).max().orElse(20) + 2;
        return new DemoRunner(out, width).run(config, backends, samples, pace, resultTimeout);
    }

    private int run(AgentConfig fileConfig, Function<ModelSettings, InferenceBackend> backends,
                    List<EventSimulator.Sample> samples, Duration pace, Duration resultTimeout) {
        out.println("Starting the embedded MQTT broker ...");
        try (EmbeddedBroker broker = new EmbeddedBroker().start()) {
            AgentConfig config = onBroker(fileConfig, broker.url());
            out.println("Loading the model " + config.model().path().getFileName() + " ...");
            InferenceBackend backend;
            try {
                backend = backends.apply(config.model());
            } catch (RuntimeException e) {
                out.println("demo: the model could not be loaded: " + e.getMessage());
                return 1;
            }
            EdgeAgent agent;
            try {
                agent = new EdgeAgent(config, backend);
            } catch (MqttSetupException | GpioUnavailableException | java.io.IOException e) {
                backend.close();
                out.println("demo: " + e.getMessage());
                return 1;
            }
            try (agent) {
                agent.start();
                if (!agent.awaitConnected(Duration.ofSeconds(30))) {
                    out.println("demo: the agent did not connect to the embedded broker");
                    return 1;
                }
                return publishAndWatch(config, broker.url(), samples, pace, resultTimeout);
            }
        } catch (IOException | MqttException e) {
            out.println("demo: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.println("demo: interrupted");
            return 1;
        } finally {
            out.println("Stopped.");
        }
    }

    private int publishAndWatch(AgentConfig config, String url, List<EventSimulator.Sample> samples, Duration pace,
                                Duration resultTimeout) throws MqttException, InterruptedException {
        MqttClient listener = new MqttClient(url, "edge-agent-demo-results", new MemoryPersistence());
        try {
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(true);
            listener.connect(options);
            List<String> filters = new ArrayList<>(resultFilters(config.routes()));
            filters.add(config.agentTopic("errors"));
            MqttSubscription[] subscriptions = filters.stream().map(f -> new MqttSubscription(f, 1))
                    .toArray(MqttSubscription[]::new);
            IMqttMessageListener[] listeners = new IMqttMessageListener[subscriptions.length];
            String errorsTopic = config.agentTopic("errors");
            for (int i = 0; i < listeners.length; i++) {
                listeners[i] = (topic, message) -> onMessage(topic.equals(errorsTopic), message.getPayload());
            }
            listener.subscribe(subscriptions, listeners);

            out.println("Publishing " + samples.size() + " sample events; each answer is printed as it arrives:");
            out.println();
            new EventSimulator(url, samples, pace).run(this::expect);

            long deadline = System.nanoTime() + resultTimeout.toNanos();
            synchronized (this) {
                while (answered + rejected < published) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    wait(Math.max(1, left / 1_000_000));
                }
                out.println();
                out.printf(Locale.ROOT, "%d events, %d answered%s, %d rejected%n", published, answered,
                        withExpectation > 0 ? " (" + asExpected + " of " + withExpectation + " as expected)" : "",
                        rejected);
                if (answered + rejected < published) {
                    out.println("demo: " + (published - answered - rejected) + " event(s) got no answer within "
                            + resultTimeout.toSeconds() + " s");
                    return 1;
                }
                return 0;
            }
        } finally {
            try {
                if (listener.isConnected()) {
                    listener.disconnect();
                }
            } finally {
                listener.close();
            }
        }
    }

    private synchronized void expect(EventSimulator.Sample sample) {
        pending.computeIfAbsent(sample.topic(), t -> new ArrayDeque<>()).add(sample);
        published++;
    }

    /** Paho's thread: one result or error report. */
    private synchronized void onMessage(boolean error, byte[] payload) {
        JsonNode json;
        try {
            json = JSON.readTree(payload);
        } catch (IOException e) {
            return; // not the agent's: nothing to pair
        }
        String source = json.path("source_topic").asText("");
        Deque<EventSimulator.Sample> queue = pending.get(source);
        EventSimulator.Sample sample = queue == null ? null : queue.poll();
        String event = sample == null ? "" : describe(sample.json());
        String answer;
        if (error) {
            rejected++;
            answer = "rejected: " + json.path("reason").asText() + " (" + json.path("detail").asText() + ")";
        } else {
            answered++;
            answer = answer(json);
            Optional<String> expected = sample == null ? Optional.empty() : sample.expected();
            if (expected.isPresent()) {
                withExpectation++;
                String got = json.has("label") ? json.path("label").asText() : json.path("summary").asText();
                if (got.equals(expected.get())) {
                    asExpected++;
                } else {
                    answer += "   [expected: " + expected.get() + "]";
                }
            }
        }
        out.println(pad(source) + event + " -> " + answer);
        notifyAll();
    }

    private String pad(String topic) {
        return topic.length() >= topicWidth ? topic + " " : topic + " ".repeat(topicWidth - topic.length());
    }

    /** {@code critical (0.97)} for a label, the quoted sentence for a summary. */
    static String answer(JsonNode result) {
        if (result.has("label")) {
            String label = result.path("label").asText();
            JsonNode score = result.path("scores").path(label);
            return score.isNumber() ? String.format(Locale.ROOT, "%s (%.2f)", label, score.doubleValue()) : label;
        }
        return "\"" + result.path("summary").asText() + "\"";
    }

    /** A short, readable line for the demo's two kinds of event; compact JSON for anything else. */
    static String describe(JsonNode payload) {
        if (payload.has("temperature")) {
            return "temperature " + payload.path("temperature") + " C, humidity " + payload.path("humidity")
                    + " %, soil " + payload.path("soil_moisture") + " %, CO2 " + payload.path("co2") + " ppm";
        }
        JsonNode after = payload.path("after");
        if (after.has("camera")) {
            List<String> zones = new ArrayList<>();
            after.path("entered_zones").forEach(z -> zones.add(z.asText()));
            return payload.path("type").asText() + " " + after.path("label").asText() + " on "
                    + after.path("camera").asText() + " (" + after.path("top_score") + ")"
                    + (zones.isEmpty() ? "" : " in " + String.join(", ", zones));
        }
        String text = payload.toString();
        return text.length() > 80 ? text.substring(0, 77) + "..." : text;
    }

    /**
     * An MQTT filter for each route's publish template: every topic level that holds a placeholder
     * becomes {@code +} (e.g. {@code greenhouse/{$topic[1]}/climate/assessment} → {@code greenhouse/+/climate/assessment}).
     */
    static Set<String> resultFilters(List<RouteConfig> routes) {
        Set<String> filters = new LinkedHashSet<>();
        for (RouteConfig route : routes) {
            List<String> levels = new ArrayList<>();
            for (String level : route.publish().source().split("/", -1)) {
                levels.add(level.contains("{") ? "+" : level);
            }
            filters.add(String.join("/", levels));
        }
        // a filter that another one already covers would deliver its results twice
        for (Iterator<String> it = filters.iterator(); it.hasNext(); ) {
            String f = it.next();
            if (filters.stream().anyMatch(g -> !g.equals(f) && covers(g, f))) {
                it.remove();
            }
        }
        return filters;
    }

    private static boolean covers(String general, String specific) {
        String[] g = general.split("/", -1);
        String[] s = specific.split("/", -1);
        if (g.length != s.length) {
            return false;
        }
        for (int i = 0; i < g.length; i++) {
            if (!g[i].equals("+") && !g[i].equals(s[i])) {
                return false;
            }
        }
        return true;
    }

    /**
     * The configuration as loaded, pointed at the embedded broker instead of the file's {@code mqtt.url},
     * with a fresh store: the embedded broker starts empty each time, so nothing of an earlier demo is owed.
     */
    private static AgentConfig onBroker(AgentConfig c, String url) throws java.io.IOException {
        MqttConfig m = c.mqtt();
        MqttConfig mqtt = new MqttConfig(url, m.clientId(), m.username(), m.passwordFile(), m.tls(), m.keepaliveSeconds(),
                m.sessionExpirySeconds(), m.topicPrefix(), m.reconnectInitial(), m.reconnectMax(), m.receiveMaximum());
        dev.phiedge.agent.config.StoreConfig store = new dev.phiedge.agent.config.StoreConfig(
                java.nio.file.Files.createTempDirectory("edge-agent-demo-store"), c.store().maxBytes());
        return new AgentConfig(c.source(), c.deviceId(), mqtt, c.model(), c.routes(), c.limits(), store,
                c.statsInterval(), c.gpio(), c.frigate());
    }
}
