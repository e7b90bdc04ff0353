package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.config.ConfigException;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.config.ConfigProblem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An agent configuration for a child-process test, written into the test's folder: samples/config/demo.yaml's
 * greenhouse route (its system text and prompt verbatim, the zone one topic level further down under a
 * per-test namespace), the demo model by absolute path, the test's broker or proxy, a unique client id, a
 * short keepalive and a one-second stats interval, and each agent's own store folder.
 *
 * <p>The settings the "Nothing lost" work adds ({@code store:} and {@code mqtt.receive_maximum}) are
 * written only by {@link #reliabilityKeys}, and only when the ConfigLoader on the class path knows them
 * (until that code lands it refuses them as unknown keys); every test line says which way it ran.
 */
public final class AgentYaml {

    /** Whether the reliability keys are written: {@code -Dreliability.keys=on|off|auto} (auto: when ConfigLoader knows them). */
    private static volatile Boolean keysSupported;

    private final String deviceId;
    private final String url;
    private String clientId;
    private int keepaliveS = 2;
    private int statsIntervalS = 1;
    private int reconnectInitialMs = 200;
    private int reconnectMaxS = 2;
    private Integer modelThreads;
    private Integer maxPayloadBytes;
    private Path store;
    private final List<String> routes = new ArrayList<>();

    private AgentYaml(String deviceId, String url) {
        this.deviceId = deviceId;
        this.url = url;
        this.clientId = "edge-agent-" + deviceId + "-" + ProcessHandle.current().pid();
    }

    /** An agent with no route yet, on {@code url}. */
    public static AgentYaml agent(String deviceId, String url) {
        return new AgentYaml(deviceId, url);
    }

    /**
     * An agent with demo.yaml's greenhouse route on {@code <namespace>/greenhouse/+/climate}, answering on
     * {@code <namespace>/greenhouse/<zone>/climate/assessment} (what {@link EventLedger} sends and collects).
     */
    public static AgentYaml greenhouse(String deviceId, String url, String namespace) {
        return agent(deviceId, url).greenhouseRoute(namespace, namespace + "/greenhouse/+/climate");
    }

    /** demo.yaml's greenhouse route with {@code filter} as its subscription (say {@code $share/g/<namespace>/...}). */
    public AgentYaml greenhouseRoute(String namespace, String filter) {
        int zoneLevel = namespace.split("/").length + 1;
        String prompt = demoRouteValue("prompt").replace("{$topic[1]}", "{$topic[" + zoneLevel + "]}");
        routes.add("""
                  - name: greenhouse-climate
                    subscribe: "%s"
                    task: classify
                    labels: [normal, warning, critical]
                    system: "%s"
                    prompt: "%s"
                    publish: "%s/greenhouse/{$topic[%d]}/climate/assessment"
                    queue: {policy: drop_oldest, capacity: 1000}
                """.formatted(filter, demoRouteValue("system"), prompt, namespace, zoneLevel));
        return this;
    }

    /** A route written as YAML (one list item, indented by two spaces). */
    public AgentYaml route(String yaml) {
        routes.add(yaml.endsWith("\n") ? yaml : yaml + "\n");
        return this;
    }

    public AgentYaml clientId(String id) {
        this.clientId = id;
        return this;
    }

    public AgentYaml keepalive(int seconds) {
        this.keepaliveS = seconds;
        return this;
    }

    public AgentYaml statsInterval(int seconds) {
        this.statsIntervalS = seconds;
        return this;
    }

    public AgentYaml reconnect(int initialMs, int maxS) {
        this.reconnectInitialMs = initialMs;
        this.reconnectMaxS = maxS;
        return this;
    }

    public AgentYaml modelThreads(int threads) {
        this.modelThreads = threads;
        return this;
    }

    public AgentYaml maxPayloadBytes(int bytes) {
        this.maxPayloadBytes = bytes;
        return this;
    }

    /** The agent's store folder (journal and outbox); it must outlive restarts of the same agent. */
    public AgentYaml store(Path folder) {
        this.store = folder;
        return this;
    }

    public String deviceId() {
        return deviceId;
    }

    public String clientId() {
        return clientId;
    }

    /** {@code edge-agent/<device_id>/<leaf>} (status, stats, errors). */
    public String agentTopic(String leaf) {
        return "edge-agent/" + deviceId + "/" + leaf;
    }

    /** The YAML text. */
    public String text() {
        StringBuilder yaml = new StringBuilder();
        yaml.append("# Written by a reliability test from samples/config/demo.yaml\n");
        yaml.append("device_id: ").append(deviceId).append('\n');
        yaml.append("mqtt:\n");
        yaml.append("  url: ").append(url).append('\n');
        yaml.append("  client_id: ").append(clientId).append('\n');
        yaml.append("  keepalive: ").append(keepaliveS).append('\n');
        yaml.append("  reconnect_initial_ms: ").append(reconnectInitialMs).append('\n');
        yaml.append("  reconnect_max_s: ").append(reconnectMaxS).append('\n');
        yaml.append("model:\n");
        yaml.append("  path: ").append(BrokerAndModel.DEMO_MODEL).append('\n');
        yaml.append("  context: 512\n");
        if (modelThreads != null) {
            yaml.append("  threads: ").append(modelThreads).append('\n');
        }
        yaml.append("routes:\n");
        routes.forEach(yaml::append);
        yaml.append("stats: {interval_s: ").append(statsIntervalS).append("}\n");
        if (maxPayloadBytes != null) {
            yaml.append("limits: {max_payload_bytes: ").append(maxPayloadBytes).append("}\n");
        }
        return reliabilityKeys(yaml.toString(), store);
    }

    /** Writes {@code <deviceId>.yaml} into {@code dir} and returns it. */
    public Path write(Path dir) throws IOException {
        Path file = dir.resolve(deviceId + ".yaml");
        Files.writeString(file, text(), StandardCharsets.UTF_8);
        return file;
    }

    /**
     * The one place the new keys go in: {@code store: {path, max_bytes: 64 MiB}} and
     * {@code mqtt.receive_maximum: 20}, when {@link #reliabilityKeysSupported()}; the text unchanged otherwise.
     */
    static String reliabilityKeys(String yaml, Path store) {
        if (!reliabilityKeysSupported()) {
            return yaml;
        }
        String out = yaml.replace("mqtt:\n", "mqtt:\n  receive_maximum: 20\n");
        if (store != null) {
            out += "store: {path: " + store.toAbsolutePath() + ", max_bytes: 67108864}\n";
        }
        return out;
    }

    /**
     * True when the agent takes {@code store} and {@code mqtt.receive_maximum}: forced by
     * {@code -Dreliability.keys=on|off}, else found out once by loading a configuration that has them.
     */
    public static boolean reliabilityKeysSupported() {
        Boolean known = keysSupported;
        if (known != null) {
            return known;
        }
        String forced = System.getProperty("reliability.keys", "auto");
        if (forced.equals("on") || forced.equals("off")) {
            keysSupported = forced.equals("on");
            return keysSupported;
        }
        try {
            Path dir = Files.createTempDirectory("reliability-keys");
            Path file = dir.resolve("probe.yaml");
            Files.writeString(file, """
                    device_id: probe
                    mqtt:
                      url: tcp://127.0.0.1:1883
                      receive_maximum: 20
                    model:
                      path: %s
                    routes:
                      - name: r
                        subscribe: a/b
                        task: classify
                        labels: [x, y]
                        prompt: "{$payload}"
                        publish: a/c
                    store: {path: %s, max_bytes: 67108864}
                    """.formatted(BrokerAndModel.DEMO_MODEL, dir.resolve("store")));
            Files.createDirectories(dir.resolve("store"));
            boolean ok;
            try {
                ConfigLoader.load(file);
                ok = true;
            } catch (ConfigException e) {
                // The old loader: exactly the two keys, each refused as unknown. Anything else is a new
                // loader refusing these settings, which must fail the tests, not run them without a store.
                List<ConfigProblem> problems = e.problems();
                boolean unknownOnly = !problems.isEmpty() && problems.stream().allMatch(p -> p.message().startsWith("unknown key")
                        && (p.key().equals("store") || p.key().equals("mqtt.receive_maximum")));
                if (!unknownOnly) {
                    throw new AssertionError("the agent's ConfigLoader refuses the reliability settings "
                            + "(store: {path, max_bytes}, mqtt.receive_maximum): " + problems);
                }
                ok = false;
            }
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            keysSupported = ok;
            return ok;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code store=on} or {@code store=off(ConfigLoader refuses the keys)}, for the RELIABILITY lines. */
    public static String keysNote() {
        return reliabilityKeysSupported() ? "store=on" : "store=off(ConfigLoader does not know store/receive_maximum yet)";
    }

    private static volatile String demoYaml;

    /** A quoted value ({@code system}, {@code prompt}) of the greenhouse route in samples/config/demo.yaml, verbatim. */
    public static String demoRouteValue(String key) {
        String yaml = demoYaml;
        if (yaml == null) {
            try {
                yaml = Files.readString(SharedData.repoRoot().resolve("samples/config/demo.yaml"), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            demoYaml = yaml;
        }
        int route = yaml.indexOf("name: greenhouse-climate");
        assertTrue(route >= 0, "samples/config/demo.yaml has no greenhouse-climate route");
        Matcher m = Pattern.compile("\n\\s+" + key + ": \"([^\"]*)\"").matcher(yaml);
        assertTrue(m.find(route), "samples/config/demo.yaml's greenhouse route has no quoted " + key);
        return m.group(1);
    }
}
