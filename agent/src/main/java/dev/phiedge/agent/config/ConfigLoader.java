package dev.phiedge.agent.config;

import dev.phiedge.agent.template.PromptTemplate;
import dev.phiedge.agent.template.RouteCondition;
import dev.phiedge.agent.template.TemplateField;
import dev.phiedge.agent.template.TemplateSyntaxException;
import dev.phiedge.agent.tls.PemTls;
import dev.phiedge.agent.tls.TlsConfig;
import dev.phiedge.agent.topic.TopicFilter;
import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.plan.KernelPlanner;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads and validates the agent's YAML configuration. It keeps going after a problem so that
 * {@code check} lists every mistake at once, each with its file and line, rather than one per run.
 * Relative paths are resolved against the configuration file's folder, so the agent finds its model
 * whatever the working directory of the service manager.
 */
public final class ConfigLoader {

    private static final byte[] GGUF_MAGIC = {'G', 'G', 'U', 'F'};

    /** The agent's own topics, {@code <topic_prefix>/<device_id>/<leaf>}, that no route may subscribe to. */
    private static final List<String> AGENT_TOPIC_LEAVES = List.of("status", "stats", "errors");

    private final Path file;
    private final Path baseDir;
    /** Also open the model the way {@code run} does (see {@link #check}). */
    private final boolean openModel;
    private final List<ConfigProblem> problems = new ArrayList<>();
    /** Every route listed could be read (so GPIO rules can be checked against them). */
    private boolean routesComplete;
    /** The file has a {@code frigate} section (routes may then ask for {@code frigate_description}). */
    private boolean frigateConfigured;
    /** The section each route of {@code routes} was read from, in the same order, for cross-route problems. */
    private final List<YamlSection> routeSections = new ArrayList<>();

    private ConfigLoader(Path file, boolean openModel) {
        this.file = file;
        this.openModel = openModel;
        Path parent = file.toAbsolutePath().getParent();
        this.baseDir = parent != null ? parent : Path.of(".").toAbsolutePath();
    }

    /**
     * Loads the file; throws with every problem found when it cannot be used as it is. The model file is
     * only checked to be a GGUF file here: {@code run} opens it right after, with the runtime's own checks.
     */
    public static AgentConfig load(Path file) throws ConfigException {
        return new ConfigLoader(file, false).read();
    }

    /**
     * What {@code edge-agent check} runs: {@link #load}, and the model opened with the runtime exactly as
     * {@code run} opens it ({@link LanguageModel#load}: the whole tensor table against the file, every
     * tensor's type and shape, the architecture, the metadata and the vocabulary), then closed again. No
     * KV cache is allocated (only a session does that) and no thread is started. A model that {@code run}
     * would refuse is a problem on {@code model.path}, with the runtime's message (offset, tensor, reason).
     */
    public static AgentConfig check(Path file) throws ConfigException {
        return new ConfigLoader(file, true).read();
    }

    private AgentConfig read() throws ConfigException {
        Node root;
        try (InputStream in = Files.newInputStream(file);
             Reader reader = new java.io.InputStreamReader(in, StandardCharsets.UTF_8)) {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(true); // reported by YamlSection, with a line, instead of thrown
            root = new Yaml(options).compose(reader);
        } catch (java.nio.file.NoSuchFileException e) {
            throw fail(0, "", "configuration file not found");
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() != null ? e.getProblemMark().getLine() + 1 : 0;
            throw fail(line, "", "not valid YAML: " + e.getProblem());
        } catch (YAMLException | IOException e) {
            throw fail(0, "", "cannot be read: " + e.getMessage());
        }
        if (!(root instanceof MappingNode mapping)) {
            throw fail(root == null ? 0 : YamlSection.line(root), "", "expected a mapping with device_id, mqtt, model and routes");
        }
        YamlSection top = new YamlSection(file, "", mapping, problems);
        String deviceId = top.string("device_id", true).orElse("");
        if (top.has("device_id")) {
            checkTopicLevel(top, "device_id", deviceId);
        }
        MqttConfig mqtt = top.section("mqtt", true).map(s -> mqtt(s, deviceId)).orElse(null);
        ModelSettings model = top.section("model", true).map(this::model).orElse(null);
        frigateConfigured = top.has("frigate");
        Optional<FrigateConfig> frigate = top.section("frigate", false).map(this::frigate);
        List<RouteConfig> routes = routes(top);
        checkFeedbackLoops(routes, deviceId, mqtt);
        LimitsConfig limits = top.section("limits", false).map(this::limits).orElse(LimitsConfig.defaults());
        StoreConfig store = top.section("store", false).map(s -> store(s, deviceId))
                .orElseGet(() -> new StoreConfig(defaultStoreDirectory(deviceId), StoreConfig.DEFAULT_MAX_BYTES));
        Duration statsInterval = top.section("stats", false)
                .map(s -> {
                    long seconds = s.integer("interval_s", AgentConfig.DEFAULT_STATS_INTERVAL.toSeconds(), 1, 86_400);
                    s.reportUnknownKeys();
                    return Duration.ofSeconds(seconds);
                })
                .orElse(AgentConfig.DEFAULT_STATS_INTERVAL);
        // Rules are checked against the routes; when a route is too broken to read, its rules would only
        // add "no route named" noise, so the cross-check waits until the routes are fixed.
        Optional<GpioConfig> gpio = top.raw("gpio")
                .flatMap(node -> GpioConfig.parse(file, node, routesComplete ? routes : null, problems));
        HomeAssistantSettings homeAssistant = top.section("homeassistant", false).map(this::homeAssistant)
                .orElse(HomeAssistantSettings.disabled());
        Optional<HttpSettings> http = top.section("http", false).map(this::http);
        top.reportUnknownKeys();
        if (!problems.isEmpty()) {
            problems.sort(java.util.Comparator.comparingInt(ConfigProblem::line));
            throw new ConfigException(problems);
        }
        return new AgentConfig(file, deviceId, mqtt, model, routes, limits, store, statsInterval, gpio, frigate,
                homeAssistant, http);
    }

    private ConfigException fail(int line, String key, String message) {
        problems.add(new ConfigProblem(file, line, key, message));
        return new ConfigException(problems);
    }

    private MqttConfig mqtt(YamlSection s, String deviceId) {
        String url = s.string("url", true).orElse("");
        boolean secure = false;
        if (s.has("url")) {
            try {
                URI uri = new URI(url);
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                secure = scheme.equals("ssl") || scheme.equals("wss");
                if (!Set.of("tcp", "ssl", "ws", "wss").contains(scheme) || uri.getHost() == null) {
                    s.problem("url", "expected tcp://HOST:PORT, ssl://HOST:PORT, ws:// or wss://, got '" + url + "'");
                }
            } catch (URISyntaxException e) {
                s.problem("url", "not a valid URL: " + e.getReason());
            }
        }
        String clientId = s.string("client_id", false).orElse("edge-agent-" + deviceId);
        if (clientId.isEmpty() || clientId.getBytes(StandardCharsets.UTF_8).length > 65535) {
            s.problem("client_id", "must be non-empty");
        }
        Optional<String> username = s.string("username", false);
        Optional<Path> passwordFile = s.string("password_file", false).map(p -> readableFile(s, "password_file", p));
        if (passwordFile.isPresent() && username.isEmpty()) {
            s.problem("password_file", "a password needs a username");
        }
        Optional<TlsConfig> tls = s.section("tls", false).map(t -> {
            int before = problems.size();
            TlsConfig config = new TlsConfig(
                    t.string("ca", false).map(p -> pemFile(t, "ca", p)),
                    t.string("cert", false).map(p -> pemFile(t, "cert", p)),
                    t.string("key", false).map(p -> pemFile(t, "key", p)));
            if (config.cert().isPresent() != config.key().isPresent()) {
                t.problem(config.cert().isPresent() ? "key" : "cert", "cert and key go together");
            }
            t.reportUnknownKeys();
            if (problems.size() == before) {
                checkTls(t, config);
            }
            return config;
        });
        if (tls.isPresent() && !secure && s.has("url")) {
            s.problem("tls", "TLS is configured but the url is not ssl:// or wss://");
        }
        int keepalive = (int) s.integer("keepalive", MqttConfig.DEFAULT_KEEPALIVE, 0, 65_535);
        long expiry = s.integer("session_expiry", MqttConfig.DEFAULT_SESSION_EXPIRY, 0, 4_294_967_295L);
        String prefix = s.string("topic_prefix", false).orElse(MqttConfig.DEFAULT_TOPIC_PREFIX);
        if (s.has("topic_prefix")) {
            String problem = TopicFilter.topicNameProblem(prefix);
            if (problem != null) {
                s.problem("topic_prefix", problem);
            }
        }
        long initialMs = s.integer("reconnect_initial_ms", 500, 10, 600_000);
        long maxS = s.integer("reconnect_max_s", 60, 1, 86_400);
        int receiveMaximum = (int) s.integer("receive_maximum", MqttConfig.DEFAULT_RECEIVE_MAXIMUM, 1, 65_535);
        s.reportUnknownKeys();
        return new MqttConfig(url, clientId, username, passwordFile, tls, keepalive, expiry, prefix,
                Duration.ofMillis(initialMs), Duration.ofSeconds(maxS), receiveMaximum);
    }

    private ModelSettings model(YamlSection s) {
        Path path = s.string("path", true).map(p -> baseDir.resolve(p).normalize()).orElse(null);
        int context = (int) s.integer("context", ModelSettings.DEFAULT_CONTEXT, 16, 1 << 20);
        int threads = (int) s.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        if (path != null && checkModelFile(s, path) && openModel) {
            openModel(s, path, context);
        }
        s.reportUnknownKeys();
        return new ModelSettings(path, context, threads);
    }

    /** True when the file exists and starts like a GGUF file. */
    private boolean checkModelFile(YamlSection s, Path path) {
        if (!Files.isRegularFile(path)) {
            s.problem("path", "model file not found: " + path);
            return false;
        }
        try (InputStream in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            if (!java.util.Arrays.equals(magic, GGUF_MAGIC)) {
                s.problem("path", "not a GGUF model file (it does not start with 'GGUF'): " + path);
                return false;
            }
            return true;
        } catch (IOException e) {
            s.problem("path", "model file cannot be read: " + e.getMessage());
            return false;
        }
    }

    /**
     * Opens the model as {@code run} does (RuntimeBackend.load calls the same {@link LanguageModel#load},
     * with the configured context) and closes it again: one thread, so no thread team is started, and no
     * session, so no KV cache. The runtime's message already names the file, the byte offset and the
     * tensor or key at fault; it is reported as it is.
     */
    private static void openModel(YamlSection s, Path path, int context) {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            // the runtime's kernels need it; run would fail the same way
            s.problem("path", "cannot open the model: this JVM was started without --add-modules jdk.incubator.vector"
                    + " (the systemd unit and scripts/edge-agent pass it)");
            return;
        }
        try (LanguageModel model = LanguageModel.load(path, context, 1, KernelPlanner.rulesOnly())) {
            model.name(); // opened: every check of load passed
        } catch (IOException e) {
            s.problem("path", "model file cannot be read: " + e.getMessage());
        } catch (RuntimeException e) {
            s.problem("path", "the runtime cannot load this model: " + e.getMessage());
        }
    }

    private LimitsConfig limits(YamlSection s) {
        int maxPayload = (int) s.integer("max_payload_bytes", LimitsConfig.DEFAULT_MAX_PAYLOAD_BYTES, 1, 256L << 20);
        int maxDepth = (int) s.integer("max_json_depth", LimitsConfig.DEFAULT_MAX_JSON_DEPTH, 1, 1000);
        int maxField = (int) s.integer("max_field_chars", LimitsConfig.DEFAULT_MAX_FIELD_CHARS, 1, 16 << 20);
        s.reportUnknownKeys();
        return new LimitsConfig(maxPayload, maxDepth, maxField);
    }

    private StoreConfig store(YamlSection s, String deviceId) {
        Path directory = s.string("path", false).map(p -> baseDir.resolve(p).normalize())
                .orElseGet(() -> defaultStoreDirectory(deviceId));
        long maxBytes = s.integer("max_bytes", StoreConfig.DEFAULT_MAX_BYTES, 1L << 20, 1L << 40);
        s.reportUnknownKeys();
        return new StoreConfig(directory, maxBytes);
    }

    private Path defaultStoreDirectory(String deviceId) {
        return StoreConfig.defaultDirectory(baseDir, deviceId, System.getenv("STATE_DIRECTORY"));
    }

    private List<RouteConfig> routes(YamlSection top) {
        List<RouteConfig> routes = new ArrayList<>();
        Optional<List<Node>> items = top.list("routes", true);
        if (items.isEmpty()) {
            return routes;
        }
        if (items.get().isEmpty()) {
            top.problem("routes", "at least one route is needed");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < items.get().size(); i++) {
            Node item = items.get().get(i);
            String path = "routes[" + i + "]";
            if (!(item instanceof MappingNode mapping)) {
                problems.add(new ConfigProblem(file, YamlSection.line(item), path,
                        "expected a route (a mapping), got " + YamlSection.describe(item)));
                continue;
            }
            YamlSection section = new YamlSection(file, path, mapping, problems);
            RouteConfig route = route(section, names);
            if (route != null) {
                routes.add(route);
                routeSections.add(section);
            }
        }
        routesComplete = routes.size() == items.get().size();
        return routes;
    }

    /** Reads one route; returns null when a part is too broken to build it (the problems say why). */
    private RouteConfig route(YamlSection s, Set<String> names) {
        int before = problems.size();
        String name = s.string("name", true).orElse("");
        if (s.has("name") && name.isBlank()) {
            s.problem("name", "must not be empty");
        } else if (s.has("name") && !names.add(name)) {
            s.problem("name", "duplicate route name '" + name + "'");
        }
        Optional<String> share = s.string("share", false);
        TopicFilter filter = s.string("subscribe", true).map(text -> subscription(s, text, share)).orElse(null);
        Task task = s.string("task", true).map(text -> {
            try {
                return Task.valueOf(text.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                s.problem("task", "expected classify or summarize, got '" + text + "'");
                return null;
            }
        }).orElse(null);
        List<String> labels = s.strings("labels", false).orElse(List.of());
        if (task == Task.CLASSIFY) {
            if (!s.has("labels")) {
                s.problem("labels", "a classify route needs labels, e.g. labels: [normal, warning, critical]");
            } else if (labels.size() < 2) {
                s.problem("labels", "a classify route needs at least two labels");
            } else if (new HashSet<>(labels).size() != labels.size() || labels.stream().anyMatch(String::isBlank)) {
                s.problem("labels", "labels must be distinct and non-empty");
            }
            if (s.has("max_tokens")) {
                s.problem("max_tokens", "max_tokens applies to summarize routes only");
            }
        }
        if (task == Task.SUMMARIZE && s.has("labels")) {
            s.problem("labels", "labels apply to classify routes only");
        }
        int maxTokens = (int) s.integer("max_tokens", RouteConfig.DEFAULT_MAX_TOKENS, 1, 1 << 16);
        String system = s.string("system", false).orElse("");
        PromptTemplate prompt = template(s, "prompt", filter);
        PromptTemplate publish = template(s, "publish", filter);
        if (publish != null) {
            String literal = publish.source().replaceAll("\\{[^}]*}", "x");
            String problem = TopicFilter.topicNameProblem(literal);
            if (problem != null) {
                s.problem("publish", problem);
            }
        }
        int qos = (int) s.integer("qos", 1, 0, 2);
        boolean retain = s.bool("retain", false);
        QueueConfig queue = s.section("queue", false).map(q -> queue(q, filter)).orElse(QueueConfig.defaults());
        Optional<RouteCondition> when = when(s);
        boolean frigateDescription = s.bool("frigate_description", false);
        if (frigateDescription && task == Task.CLASSIFY) {
            s.problem("frigate_description", "frigate_description applies to summarize routes only "
                    + "(the summary becomes the Frigate event's description)");
        }
        if (frigateDescription && !frigateConfigured) {
            s.problem("frigate_description", "frigate_description needs a top-level frigate section, "
                    + "e.g. frigate: {url: http://127.0.0.1:5000}");
        }
        s.reportUnknownKeys();
        if (problems.size() > before || filter == null || task == null || prompt == null || publish == null) {
            return null;
        }
        return new RouteConfig(name, filter, task, labels, maxTokens, system, prompt, publish, qos, retain, queue,
                when, frigateDescription);
    }

    /**
     * A route's {@code when:}, a mapping of payload paths to conditions ({@link RouteCondition}); each
     * entry's mistake is a problem at its own line.
     */
    private Optional<RouteCondition> when(YamlSection s) {
        Optional<Node> raw = s.raw("when");
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        if (!(raw.get() instanceof MappingNode mapping)) {
            s.problem("when", "expected a mapping of payload paths to conditions, e.g. when: {type: end, "
                    + "after.top_score: \">= 0.6\"}, got " + YamlSection.describe(raw.get()));
            return Optional.empty();
        }
        YamlSection w = new YamlSection(file, s.qualify("when"), mapping, problems);
        Map<String, Node> entries = w.values();
        if (entries.isEmpty()) {
            s.problem("when", "no conditions: list at least one, or leave when out");
            return Optional.empty();
        }
        List<RouteCondition.Clause> clauses = new ArrayList<>();
        boolean complete = true;
        for (Map.Entry<String, Node> entry : entries.entrySet()) {
            try {
                clauses.add(RouteCondition.clause(entry.getKey(), conditionValue(entry.getValue())));
            } catch (TemplateSyntaxException e) {
                w.problem(entry.getKey(), e.getMessage());
                complete = false;
            }
        }
        return complete ? Optional.of(RouteCondition.of(clauses)) : Optional.empty();
    }

    /**
     * What YAML wrote as a condition, as {@link RouteCondition#clause} takes it: text, a BigDecimal for a
     * number, a Boolean, null, a list of those; a nested list or mapping stays one, for its message.
     */
    private static Object conditionValue(Node node) throws TemplateSyntaxException {
        if (node instanceof SequenceNode sequence) {
            List<Object> items = new ArrayList<>();
            for (Node item : sequence.getValue()) {
                items.add(item instanceof ScalarNode ? conditionValue(item)
                        : item instanceof SequenceNode ? List.of() : Map.of());
            }
            return items;
        }
        if (node instanceof MappingNode) {
            return Map.of();
        }
        ScalarNode scalar = (ScalarNode) node;
        Tag tag = scalar.getTag();
        String text = scalar.getValue();
        if (tag.equals(Tag.NULL)) {
            return null;
        }
        if (tag.equals(Tag.BOOL)) {
            return Boolean.parseBoolean(YamlSection.normalBool(text));
        }
        if (tag.equals(Tag.INT) || tag.equals(Tag.FLOAT)) {
            try {
                return new java.math.BigDecimal(text.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new TemplateSyntaxException("'" + text + "': write numbers in decimal, e.g. 0.6 or 3");
            }
        }
        return text; // text, and anything else YAML recognizes (a date) as written
    }

    /** {@code homeassistant: {discovery: true, prefix: homeassistant}}: MQTT discovery, off unless enabled. */
    private HomeAssistantSettings homeAssistant(YamlSection s) {
        boolean discovery = s.bool("discovery", false);
        String prefix = s.string("prefix", false).orElse(null);
        s.reportUnknownKeys();
        if (prefix != null && HomeAssistantSettings.prefixProblem(prefix) != null) {
            s.problem("prefix", HomeAssistantSettings.prefixProblem(prefix));
            return HomeAssistantSettings.disabled();
        }
        return HomeAssistantSettings.of(discovery, prefix);
    }

    /** {@code http: {listen: "127.0.0.1:9464"}}: the /metrics and /healthz server, off without the section. */
    private HttpSettings http(YamlSection s) {
        Optional<String> listen = s.string("listen", false);
        s.reportUnknownKeys();
        if (listen.isEmpty()) {
            return HttpSettings.defaults();
        }
        try {
            return HttpSettings.parse(listen.get());
        } catch (IllegalArgumentException e) {
            s.problem("listen", e.getMessage());
            return HttpSettings.defaults();
        }
    }

    /** The {@code frigate} section: where summaries of routes with frigate_description are written back. */
    private FrigateConfig frigate(YamlSection s) {
        URI url = s.string("url", true).map(text -> {
            try {
                URI uri = new URI(text);
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
                    s.problem("url", "expected http://HOST:PORT or https://HOST:PORT (Frigate's API, e.g. "
                            + "http://127.0.0.1:5000), got '" + text + "'");
                    return null;
                }
                if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
                    s.problem("url", "Frigate's base URL takes no user, query or fragment, got '" + text + "'");
                    return null;
                }
                String path = uri.getRawPath() == null ? "" : uri.getRawPath();
                while (path.endsWith("/")) {
                    path = path.substring(0, path.length() - 1);
                }
                if (path.endsWith("/api")) {
                    s.problem("url", "write Frigate's base URL without /api (the agent adds /api/events/...), got '"
                            + text + "'");
                    return null;
                }
                String base = text.strip();
                while (base.endsWith("/")) {
                    base = base.substring(0, base.length() - 1);
                }
                return new URI(base);
            } catch (URISyntaxException e) {
                s.problem("url", "not a valid URL: " + e.getReason());
                return null;
            }
        }).orElse(null);
        Optional<Path> tokenFile = s.string("token_file", false).map(p -> readableFile(s, "token_file", p));
        long timeout = s.integer("timeout_s", FrigateConfig.DEFAULT_TIMEOUT.toSeconds(), 1, 300);
        int retries = (int) s.integer("retries", FrigateConfig.DEFAULT_RETRIES, 0, 10);
        if (tokenFile.isPresent() && Files.isRegularFile(tokenFile.get()) && Files.isReadable(tokenFile.get())) {
            try {
                FrigateConfig.readToken(tokenFile.get());
            } catch (IOException e) {
                s.problem("token_file", e.getMessage()); // names the file, never the token
            }
        }
        s.reportUnknownKeys();
        return url == null ? null : new FrigateConfig(url, tokenFile, Duration.ofSeconds(timeout), retries);
    }

    /**
     * The route's subscription: {@code subscribe} as written, or with {@code share: GROUP} the MQTT v5
     * shared subscription {@code $share/GROUP/<subscribe>}, through which the broker hands each message
     * to one member of the group only.
     */
    private TopicFilter subscription(YamlSection s, String text, Optional<String> share) {
        String composed = text;
        if (share.isPresent()) {
            String group = share.get();
            if (group.isEmpty() || group.contains("/") || group.contains("+") || group.contains("#")) {
                s.problem("share", "a share group is one non-empty name without '/', '+' or '#', got '" + group + "'");
                return null;
            }
            if (text.startsWith("$share/")) {
                s.problem("share", "subscribe is already a shared subscription ('" + text
                        + "'): write either share: GROUP or subscribe: $share/GROUP/FILTER, not both");
                return null;
            }
            composed = "$share/" + group + "/" + text;
        }
        TopicFilter.Parsed parsed = TopicFilter.parse(composed);
        if (parsed.filter().isEmpty()) {
            s.problem("subscribe", "invalid topic filter: " + parsed.error());
        }
        return parsed.filter().orElse(null);
    }

    /**
     * Refuses configurations in which the agent would take its own messages as events: a route whose
     * publish template can render a topic that a route (itself included) subscribes to, and a route
     * that subscribes to the agent's own status, stats or errors topic. MQTT's No Local keeps one agent's
     * results from coming back to it on a plain subscription, but not on a shared one (brokers refuse No
     * Local there), and never from another agent of the fleet running the same configuration: each
     * would answer the other's results, and those answers, without end.
     */
    private void checkFeedbackLoops(List<RouteConfig> routes, String deviceId, MqttConfig mqtt) {
        for (int p = 0; p < routes.size(); p++) {
            RouteConfig publisher = routes.get(p);
            PublishPattern pattern = PublishPattern.of(publisher.publish(), publisher.subscribe(), deviceId);
            for (RouteConfig subscriber : routes) {
                Optional<String> topic = pattern.overlap(subscriber.subscribe());
                if (topic.isPresent()) {
                    String who = subscriber == publisher ? "which it subscribes to itself"
                            : "which route '" + subscriber.name() + "' subscribes to";
                    routeSections.get(p).problem("publish", "route '" + publisher.name() + "' publishes to "
                            + pattern.template() + ", " + who + " with '" + subscriber.subscribe().text()
                            + "' (e.g. a result on " + topic.get() + "): the agent would answer its own results");
                }
            }
        }
        if (mqtt == null || deviceId.isEmpty()) {
            return;
        }
        for (int r = 0; r < routes.size(); r++) {
            RouteConfig route = routes.get(r);
            List<String> own = AGENT_TOPIC_LEAVES.stream()
                    .map(leaf -> mqtt.topicPrefix() + "/" + deviceId + "/" + leaf)
                    .filter(topic -> route.subscribe().matches(topic)).toList();
            if (!own.isEmpty()) {
                routeSections.get(r).problem("subscribe", "route '" + route.name() + "' subscribes to '"
                        + route.subscribe().text() + "', which matches the agent's own " + String.join(", ", own)
                        + ": the agent would answer its own status, stats or error reports");
            }
        }
    }

    private PromptTemplate template(YamlSection s, String key, TopicFilter filter) {
        Optional<String> text = s.string(key, true);
        if (text.isEmpty()) {
            return null;
        }
        try {
            PromptTemplate template = PromptTemplate.parse(text.get());
            for (TemplateField field : template.fields()) {
                checkField(s, key, field, filter);
            }
            return template;
        } catch (TemplateSyntaxException e) {
            s.problem(key, e.getMessage());
            return null;
        }
    }

    /** A field that no event matched by the filter can have is a mistake we can see before any event. */
    private static void checkField(YamlSection s, String key, TemplateField field, TopicFilter filter) {
        if (field instanceof TemplateField.TopicLevel level && filter != null && !filter.levelCanExist(level.index())) {
            s.problem(key, "{" + level.source() + "} can never exist: topics matched by '" + filter.filterProper()
                    + "' have " + filter.levels().size() + " levels, numbered from 0");
        }
    }

    private QueueConfig queue(YamlSection s, TopicFilter filter) {
        QueuePolicy policy = s.string("policy", false).map(text -> {
            try {
                return QueuePolicy.valueOf(text.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                s.problem("policy", "expected drop_oldest, drop_newest or coalesce, got '" + text + "'");
                return QueuePolicy.DROP_OLDEST;
            }
        }).orElse(QueuePolicy.DROP_OLDEST);
        Optional<TemplateField> key = s.string("coalesce_key", false).flatMap(text -> {
            try {
                TemplateField field = TemplateField.parse(text.startsWith("{") && text.endsWith("}")
                        ? text.substring(1, text.length() - 1) : text);
                checkField(s, "coalesce_key", field, filter);
                return Optional.of(field);
            } catch (TemplateSyntaxException e) {
                s.problem("coalesce_key", e.getMessage());
                return Optional.empty();
            }
        });
        if (policy == QueuePolicy.COALESCE && !s.has("coalesce_key")) {
            s.problem("policy", "the coalesce policy needs a coalesce_key, e.g. coalesce_key: after.camera");
        }
        if (policy != QueuePolicy.COALESCE && s.has("coalesce_key")) {
            s.problem("coalesce_key", "coalesce_key is used only with policy: coalesce");
        }
        int capacity = (int) s.integer("capacity", QueueConfig.DEFAULT_CAPACITY, 1, 1_000_000);
        Optional<Duration> deadline = s.has("deadline_s")
                ? Optional.of(Duration.ofSeconds(s.integer("deadline_s", 60, 1, 31_536_000)))
                : Optional.empty();
        s.reportUnknownKeys();
        return new QueueConfig(policy, key, capacity, deadline);
    }

    /**
     * Builds the TLS socket factory exactly as the connection does ({@link PemTls#socketFactory}), so a
     * file that {@code run} would refuse is refused here, and checks that the client key belongs to the
     * client certificate: a mismatched pair loads without complaint and only fails at the handshake,
     * where the agent would retry it forever.
     */
    private static void checkTls(YamlSection t, TlsConfig config) {
        try {
            PemTls.socketFactory(config);
        } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
            t.problem(config.key().isPresent() ? "key" : "ca", "cannot set up TLS: " + e.getMessage());
            return;
        }
        if (config.cert().isPresent() && config.key().isPresent()) {
            try {
                java.security.cert.Certificate leaf = PemTls.certificates(config.cert().get()).getFirst();
                if (!keyMatches(PemTls.privateKey(config.key().get()), leaf.getPublicKey())) {
                    t.problem("key", config.key().get() + " is not the private key of the certificate "
                            + config.cert().get() + " (the broker would refuse the handshake)");
                }
            } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
                t.problem("key", "cannot check the key against the certificate: " + e.getMessage());
            }
        }
    }

    /** True when {@code key} signs what {@code certified} verifies; true too for a key type it cannot try. */
    private static boolean keyMatches(java.security.PrivateKey key, java.security.PublicKey certified)
            throws java.security.GeneralSecurityException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return true;
        }
        boolean sameKind = key.getAlgorithm().equals(certified.getAlgorithm())
                || algorithm.equals("Ed25519") && certified.getAlgorithm().startsWith("Ed");
        if (!sameKind) {
            return false;
        }
        byte[] probe = "phi-edge-agent key check".getBytes(StandardCharsets.UTF_8);
        java.security.Signature signer = java.security.Signature.getInstance(algorithm);
        signer.initSign(key);
        signer.update(probe);
        byte[] signature = signer.sign();
        java.security.Signature verifier = java.security.Signature.getInstance(algorithm);
        verifier.initVerify(certified);
        verifier.update(probe);
        return verifier.verify(signature);
    }

    /** A readable PEM file that holds what TLS will need of it: certificates, or for {@code key} a PKCS#8 key. */
    private Path pemFile(YamlSection s, String key, String text) {
        Path path = readableFile(s, key, text);
        if (Files.isRegularFile(path) && Files.isReadable(path)) {
            try {
                if (key.equals("key")) {
                    PemTls.privateKey(path);
                } else {
                    PemTls.certificates(path);
                }
            } catch (IOException | java.security.GeneralSecurityException e) {
                s.problem(key, e.getMessage() != null ? e.getMessage() : "cannot read " + path + ": " + e);
            }
        }
        return path;
    }

    private Path readableFile(YamlSection s, String key, String text) {
        Path path = baseDir.resolve(text).normalize();
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            s.problem(key, "file not found or not readable: " + path);
        }
        return path;
    }

    private static void checkTopicLevel(YamlSection s, String key, String value) {
        if (value.isEmpty() || value.contains("/") || value.contains("+") || value.contains("#")) {
            s.problem(key, "must be non-empty and contain no '/', '+' or '#' (it is a topic level)");
        }
    }
}
