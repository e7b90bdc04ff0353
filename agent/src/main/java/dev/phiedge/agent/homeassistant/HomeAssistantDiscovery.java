package dev.phiedge.agent.homeassistant;

import dev.phiedge.agent.config.HomeAssistantSettings;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.config.Task;
import dev.phiedge.agent.mqtt.OutboundMessage;
import dev.phiedge.agent.topic.TopicFilter;
import dev.phiedge.agent.template.TemplateField;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.tinylog.Logger;

/**
 * The agent as a Home Assistant device, through Home Assistant's MQTT discovery
 * (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery, "Single component discovery payload";
 * the sensor options are https://www.home-assistant.io/integrations/sensor.mqtt/). This class only builds
 * messages and keeps a small record on disk; the caller publishes them.
 *
 * <p>What Home Assistant gets: one device per agent ({@code identifiers: ["phi_edge_agent_<device_id>"]},
 * manufacturer "Phi Edge Agent", model = the model's name, sw_version = the agent's version), and on it one
 * {@code sensor} per route plus diagnostic sensors, each announced by a retained config message on
 * {@code <prefix>/sensor/<unique_id>/config} (the docs' best practice: the topic's object id is the
 * unique id, no node id). Unique ids are built from the device id and the route name only, so they stay
 * the same across restarts. Each config also sets {@code default_entity_id}
 * ({@code sensor.phi_edge_<device>_<name>}), which replaced the deprecated {@code object_id} option in
 * Home Assistant 2025.10 ({@code object_id} stops working in 2026.4); older versions ignore it and name
 * the entity after the device and entity names. Every entity is available while the agent's status topic
 * ({@code <topic_prefix>/<device_id>/status}, retained {@code online}/{@code offline} with a Last Will) says
 * {@code online}.
 * <ul>
 *   <li>A classify route: an {@code enum} sensor whose options are the route's labels and whose state is
 *       the label of the latest result ({@code value_json.label}); its attributes are the scores
 *       ({@code value_json.scores}, label to probability).</li>
 *   <li>A summarize route: a sensor whose state is the summary cut to {@value #STATE_MAX_CHARS} characters
 *       (Home Assistant's limit for a state) and whose attribute {@code summary} holds the whole text.</li>
 *   <li>Diagnostics ({@code entity_category: diagnostic}) read from the stats message: queue depth, events
 *       processed, events dropped, latency p50 and p95 (ms, end to end: queue wait plus inference) and
 *       tokens per second. The stats message is not retained: they fill in at the next stats interval.</li>
 * </ul>
 *
 * <p>The state topic of a route entity is the route's publish topic. When its template has placeholders,
 * the agent cannot name one topic: a placeholder that the configuration decides ({@code {$device}}, or
 * {@code {$topic[N]}} where the subscription's level N is literal text) is filled in, and every level
 * that still holds a placeholder becomes the single-level wildcard {@code +}. The entity then shows the
 * latest result of the route on any of its topics ({@code greenhouse/{$topic[1]}/climate/assessment}
 * becomes {@code greenhouse/+/climate/assessment}: the latest assessment of any zone). Home Assistant
 * subscribes to a state topic as a filter (its schema takes a subscription topic; gateways such as
 * OpenMQTTGateway announce {@code +/+/BTtoMQTT/...}). Limits of this: a placeholder whose value holds a
 * '/' spreads over more levels and is not seen; a route whose every level is a placeholder gets no entity
 * (see {@link #skipped()}); and two routes (or two agents) that publish to topics of the same shape show
 * each other's results. Whether a result is still there after a restart of Home Assistant depends on the
 * route's {@code retain}.
 *
 * <p>Removed routes: Home Assistant keeps a retained config until an empty retained message clears it, and
 * after a restart the agent no longer knows its old routes. So the config topics it published are kept in
 * {@value #RECORD_FILE} in the folder given (the store's), and {@link #publication()} adds an empty
 * retained message for each recorded topic the configuration no longer produces. With discovery turned
 * off, it clears everything recorded.
 */
public final class HomeAssistantDiscovery {

    public static final String MANUFACTURER = "Phi Edge Agent";
    /** The file, in the record folder, that lists the config topics published last. */
    public static final String RECORD_FILE = "homeassistant-discovery.json";
    /** The longest state Home Assistant accepts (its state length limit, in characters). */
    public static final int STATE_MAX_CHARS = 255;
    /** Config messages and removals: QoS 1, retained. */
    public static final int QOS = 1;
    /** Home Assistant's birth payload on {@code <prefix>/status}. */
    public static final String BIRTH_PAYLOAD = "online";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A route that has no entity, and why. */
    public record Skipped(String route, String reason) {}

    /**
     * One announced entity.
     *
     * @param route      the route it shows, or null for a diagnostic sensor
     * @param stateTopic the topic (or filter) Home Assistant reads its state from
     */
    public record Entity(String uniqueId, String configTopic, String stateTopic, String route, byte[] config) {}

    /**
     * What to publish now: the empty retained messages that clear config topics of entities that are
     * gone, and the retained configs of the entities there are.
     */
    public record Publication(List<OutboundMessage> removals, List<OutboundMessage> configs) {
        public Publication {
            removals = List.copyOf(removals);
            configs = List.copyOf(configs);
        }

        /** Removals first, then configs: publish them in this order. */
        public List<OutboundMessage> messages() {
            List<OutboundMessage> all = new ArrayList<>(removals);
            all.addAll(configs);
            return all;
        }
    }

    private final HomeAssistantSettings settings;
    private final Path recordFile;
    private final List<Entity> entities;
    private final List<Skipped> skipped;
    private final Set<String> clearedTopics = ConcurrentHashMap.newKeySet();

    /**
     * Builds the entities of {@code config}.
     *
     * @param modelName    the device's model in Home Assistant (the agent's model name)
     * @param swVersion    the agent's version, or null when unknown (then left out)
     * @param recordFolder where {@value #RECORD_FILE} is kept (the store folder); created when written
     */
    public HomeAssistantDiscovery(AgentConfig config, HomeAssistantSettings settings, String modelName,
                                  String swVersion, Path recordFolder) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.recordFile = recordFolder.resolve(RECORD_FILE);
        String deviceId = config.deviceId();
        String idBase = "phi_edge_agent_" + topicId(deviceId);
        ObjectNode device = JSON.createObjectNode();
        device.putArray("identifiers").add("phi_edge_agent_" + deviceId);
        device.put("name", MANUFACTURER + " " + deviceId);
        device.put("manufacturer", MANUFACTURER);
        device.put("model", modelName);
        if (swVersion != null && !swVersion.isBlank()) {
            device.put("sw_version", swVersion);
        }
        ObjectNode origin = JSON.createObjectNode();
        origin.put("name", MANUFACTURER);
        if (swVersion != null && !swVersion.isBlank()) {
            origin.put("sw_version", swVersion);
        }
        Common common = new Common(settings.prefix(), config.agentTopic("status"), device, origin,
                "sensor.phi_edge_" + slug(deviceId));

        List<Entity> built = new ArrayList<>();
        List<Skipped> skips = new ArrayList<>();
        for (RouteConfig route : config.routes()) {
            StateTopic state = stateTopic(route, deviceId);
            if (state.problem() != null) {
                skips.add(new Skipped(route.name(), state.problem()));
                continue;
            }
            built.add(routeEntity(common, idBase + "_route_" + topicId(route.name()), route, state.topic()));
        }
        String stats = config.agentTopic("stats");
        built.add(diagnostic(common, idBase, "queue_depth", "Queue depth", stats, "{{ value_json.queue_depth }}",
                null, null, "measurement", "mdi:tray-full"));
        built.add(diagnostic(common, idBase, "events_processed", "Events processed", stats,
                "{{ value_json.processed }}", null, null, "total_increasing", "mdi:counter"));
        built.add(diagnostic(common, idBase, "events_dropped", "Events dropped", stats,
                "{{ value_json.dropped_total }}", null, null, "total_increasing", "mdi:delete-sweep-outline"));
        built.add(diagnostic(common, idBase, "latency_p50", "Latency p50", stats, "{{ value_json.latency_ms.p50 }}",
                "duration", "ms", "measurement", null));
        built.add(diagnostic(common, idBase, "latency_p95", "Latency p95", stats, "{{ value_json.latency_ms.p95 }}",
                "duration", "ms", "measurement", null));
        built.add(diagnostic(common, idBase, "tokens_per_second", "Tokens per second", stats,
                "{{ value_json.tokens_per_s }}", null, "tokens/s", "measurement", "mdi:speedometer"));
        this.entities = List.copyOf(built);
        this.skipped = List.copyOf(skips);
    }

    /** What every config shares. */
    private record Common(String prefix, String statusTopic, ObjectNode device, ObjectNode origin,
                          String entityIdBase) {}

    private static Entity routeEntity(Common common, String uniqueId, RouteConfig route, String stateTopic) {
        ObjectNode c = JSON.createObjectNode();
        c.put("name", route.name());
        c.put("unique_id", uniqueId);
        c.put("default_entity_id", common.entityIdBase() + "_" + slug(route.name()));
        c.put("state_topic", stateTopic);
        if (route.task() == Task.CLASSIFY) {
            c.put("value_template", "{{ value_json.label }}");
            c.put("json_attributes_topic", stateTopic);
            c.put("json_attributes_template", "{{ value_json.scores | tojson }}");
            c.put("device_class", "enum");
            ArrayNode options = c.putArray("options");
            route.labels().forEach(options::add);
            c.put("icon", "mdi:tag-outline");
        } else {
            c.put("value_template", "{{ value_json.summary[:" + STATE_MAX_CHARS + "] }}");
            c.put("json_attributes_topic", stateTopic);
            c.put("json_attributes_template", "{{ {'summary': value_json.summary} | tojson }}");
            c.put("icon", "mdi:text-box-outline");
        }
        c.put("qos", route.qos());
        return finish(common, c, uniqueId, stateTopic, route.name());
    }

    private static Entity diagnostic(Common common, String idBase, String key, String name, String statsTopic,
                                     String valueTemplate, String deviceClass, String unit, String stateClass,
                                     String icon) {
        String uniqueId = idBase + "_" + key;
        ObjectNode c = JSON.createObjectNode();
        c.put("name", name);
        c.put("unique_id", uniqueId);
        c.put("default_entity_id", common.entityIdBase() + "_" + key);
        c.put("state_topic", statsTopic);
        c.put("value_template", valueTemplate);
        if (deviceClass != null) {
            c.put("device_class", deviceClass);
        }
        if (unit != null) {
            c.put("unit_of_measurement", unit);
        }
        c.put("state_class", stateClass);
        c.put("entity_category", "diagnostic");
        if (icon != null) {
            c.put("icon", icon);
        }
        return finish(common, c, uniqueId, statsTopic, null);
    }

    private static Entity finish(Common common, ObjectNode c, String uniqueId, String stateTopic, String route) {
        c.put("availability_topic", common.statusTopic());
        c.put("payload_available", "online");
        c.put("payload_not_available", "offline");
        c.set("device", common.device().deepCopy());
        c.set("origin", common.origin().deepCopy());
        String configTopic = common.prefix() + "/sensor/" + uniqueId + "/config";
        try {
            return new Entity(uniqueId, configTopic, stateTopic, route, JSON.writeValueAsBytes(c));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serializes", e);
        }
    }

    /** A route's state topic, or why it has none. */
    private record StateTopic(String topic, String problem) {}

    /**
     * The route's publish template as a topic filter: literal text and the placeholders the configuration
     * decides as they render; every level that holds any other placeholder as {@code +}.
     */
    private static StateTopic stateTopic(RouteConfig route, String deviceId) {
        String source = route.publish().source();
        List<TemplateField> fields = route.publish().fields();
        TopicFilter subscribe = route.subscribe();
        List<String> levels = new ArrayList<>();
        StringBuilder level = new StringBuilder();
        boolean wild = false;
        int start = 0;
        int index = 0;
        boolean aligned = true; // the scan below finds the placeholders PromptTemplate parsed, in order
        List<Object> pieces = new ArrayList<>();
        for (int open = source.indexOf('{'); open >= 0; open = source.indexOf('{', start)) {
            int close = source.indexOf('}', open + 1);
            if (close < 0) {
                aligned = false;
                break;
            }
            pieces.add(source.substring(start, open));
            pieces.add(index < fields.size() ? fields.get(index) : null);
            index++;
            start = close + 1;
        }
        pieces.add(source.substring(start));
        aligned &= index == fields.size();
        for (Object piece : pieces) {
            if (piece instanceof String text) {
                int from = 0;
                for (int slash = text.indexOf('/'); slash >= 0; slash = text.indexOf('/', from)) {
                    level.append(text, from, slash);
                    levels.add(wild ? "+" : level.toString());
                    level.setLength(0);
                    wild = false;
                    from = slash + 1;
                }
                level.append(text.substring(from));
            } else {
                String known = aligned ? knownText((TemplateField) piece, subscribe, deviceId) : null;
                if (known != null) {
                    level.append(known);
                } else {
                    wild = true;
                }
            }
        }
        levels.add(wild ? "+" : level.toString());
        if (levels.stream().allMatch("+"::equals)) {
            return new StateTopic(null, "its publish topic '" + source + "' has no fixed level for Home Assistant "
                    + "to subscribe to");
        }
        for (String l : levels) {
            if (!l.equals("+") && (l.contains("+") || l.contains("#"))) {
                return new StateTopic(null, "its publish topic '" + source + "' contains '+' or '#'");
            }
        }
        return new StateTopic(String.join("/", levels), null);
    }

    /** The text a placeholder renders when the configuration alone decides it, else null. */
    private static String knownText(TemplateField field, TopicFilter subscribe, String deviceId) {
        if (field instanceof TemplateField.Device) {
            return deviceId;
        }
        if (field instanceof TemplateField.TopicLevel level && subscribe != null
                && level.index() < subscribe.levels().size()) {
            String filterLevel = subscribe.levels().get(level.index());
            if (!filterLevel.equals("+") && !filterLevel.equals("#")) {
                return filterLevel;
            }
        }
        return null;
    }

    /** Whether discovery is on. */
    public boolean enabled() {
        return settings.discovery();
    }

    /** {@code <prefix>/status}: subscribe to it (while discovery is on) to hear Home Assistant's birth message. */
    public String birthTopic() {
        return settings.statusTopic();
    }

    /**
     * True for Home Assistant's birth message ({@value #BIRTH_PAYLOAD} on {@code <prefix>/status}), sent
     * when its MQTT integration (re)starts: publish {@link #publication()} again then. False while
     * discovery is off.
     */
    public boolean isBirth(String topic, byte[] payload) {
        return settings.discovery() && settings.statusTopic().equals(topic) && payload != null
                && new String(payload, StandardCharsets.UTF_8).strip().equals(BIRTH_PAYLOAD);
    }

    /** The entities announced (routes first, in configuration order, then diagnostics); empty while off. */
    public List<Entity> entities() {
        return settings.discovery() ? entities : List.of();
    }

    /** Routes without an entity, and why (log them once at start). */
    public List<Skipped> skipped() {
        return settings.discovery() ? skipped : List.of();
    }

    /** The retained config messages, QoS {@value #QOS}; empty while discovery is off. */
    public List<OutboundMessage> configs() {
        return entities().stream().map(e -> OutboundMessage.of(e.configTopic(), e.config(), QOS, true)).toList();
    }

    /**
     * What to publish now (after each connect, and on Home Assistant's birth message): the configs, and an
     * empty retained message for each config topic recorded by an earlier {@link #recordPublished} that is
     * no longer produced (a route removed or renamed, the prefix changed, discovery turned off). A record
     * that cannot be read is logged and counts as empty. Then call {@link #recordPublished}.
     */
    public synchronized Publication publication() {
        List<OutboundMessage> configs = configs();
        Set<String> current = new LinkedHashSet<>();
        configs.forEach(m -> current.add(m.topic()));
        List<OutboundMessage> removals = new ArrayList<>();
        for (String topic : readRecord()) {
            if (!current.contains(topic) && !clearedTopics.contains(topic)) {
                removals.add(OutboundMessage.of(topic, new byte[0], QOS, true));
            }
        }
        return new Publication(removals, configs);
    }

    /**
     * Records that {@code publication} was published: its config topics, to be cleared once no longer
     * produced, and its removals not yet confirmed by {@link #removalDelivered}, to be sent again next time
     * (an empty retained message sent twice does no harm; one lost would leave a ghost entity).
     *
     * @throws IOException the record cannot be written (the next start may then miss a removal)
     */
    public synchronized void recordPublished(Publication publication) throws IOException {
        Set<String> cleared = new HashSet<>(clearedTopics);
        Set<String> configTopics = new TreeSet<>();
        publication.configs().forEach(m -> configTopics.add(m.topic()));
        Set<String> clearing = new TreeSet<>();
        for (OutboundMessage m : publication.removals()) {
            if (!cleared.contains(m.topic()) && !configTopics.contains(m.topic())) {
                clearing.add(m.topic());
            }
        }
        ObjectNode record = JSON.createObjectNode();
        record.put("version", 1);
        ArrayNode configs = record.putArray("config_topics");
        configTopics.forEach(configs::add);
        ArrayNode pending = record.putArray("clearing");
        clearing.forEach(pending::add);
        Files.createDirectories(recordFile.getParent());
        Path temp = recordFile.resolveSibling(RECORD_FILE + ".tmp");
        Files.write(temp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
        try {
            Files.move(temp, recordFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, recordFile, StandardCopyOption.REPLACE_EXISTING);
        }
        // None of these is in the record any more (confirmed removals were left out of it, and a topic
        // published again is a config now): forget them. One confirmed meanwhile is kept for next time.
        clearedTopics.removeAll(cleared);
    }

    /**
     * The broker acknowledged the empty retained message on {@code topic} (call from the publish's
     * delivery callback; it does not block): it is not sent again, and the next {@link #recordPublished}
     * forgets it. Without these calls, removals are simply sent again after each connect.
     */
    public void removalDelivered(String topic) {
        clearedTopics.add(topic);
    }

    /** The config topics the record holds (published and still being cleared); empty when there is none. */
    List<String> readRecord() {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(recordFile);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            Logger.warn("Cannot read {} ({}): Home Assistant entities of removed routes are not cleared this time",
                    recordFile, e.getMessage());
            return List.of();
        }
        try {
            JsonNode root = JSON.readTree(bytes);
            Set<String> topics = new LinkedHashSet<>();
            for (String key : List.of("config_topics", "clearing")) {
                JsonNode list = root == null ? null : root.get(key);
                if (list != null && list.isArray()) {
                    list.forEach(t -> {
                        if (t.isTextual() && !t.asText().isEmpty()) {
                            topics.add(t.asText());
                        }
                    });
                }
            }
            return List.copyOf(topics);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            Logger.warn("{} is not valid JSON ({}): Home Assistant entities of removed routes are not cleared this time",
                    recordFile, why);
            return List.of();
        }
    }

    /**
     * {@code text} as a topic level Home Assistant accepts as an object id ({@code [a-zA-Z0-9_-]}): as it
     * is when it already fits, else with every other character replaced by '_' and a short hash of the
     * original appended, so that different names stay different ids, the same on every start.
     */
    static String topicId(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            out.append(c < 128 && (Character.isLetterOrDigit(c) || c == '_' || c == '-') ? c : '_');
        }
        String cleaned = out.toString();
        return cleaned.equals(text) && !text.isEmpty() ? text : cleaned + "_" + shortHash(text);
    }

    /**
     * {@code text} as the object part of an entity id ({@code [a-z0-9_]}, no leading, trailing or double
     * underscore): lower case, every run of other characters one '_'; a short hash when nothing is left.
     */
    static String slug(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean gap = false;
        for (int i = 0; i < text.length(); i++) {
            char c = Character.toLowerCase(text.charAt(i));
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                if (gap && !out.isEmpty()) {
                    out.append('_');
                }
                out.append(c);
                gap = false;
            } else {
                gap = true;
            }
        }
        return out.isEmpty() ? "x" + shortHash(text) : out.toString();
    }

    private static String shortHash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

}
