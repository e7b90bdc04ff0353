package dev.phiedge.agent.homeassistant;

import dev.phiedge.agent.config.HomeAssistantSettings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.mqtt.OutboundMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The discovery messages against Home Assistant's documentation: the topic format and payload rules of
 * https://www.home-assistant.io/integrations/mqtt/#discovery-messages and the sensor options of
 * https://www.home-assistant.io/integrations/sensor.mqtt/. Expected payloads are written out by hand.
 */
class HomeAssistantDiscoveryTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The MQTT sensor's options (sensor.mqtt docs), "origin" (mqtt docs, discovery payload) and "default_entity_id". */
    private static final Set<String> SENSOR_KEYS = Set.of("availability", "availability_mode", "availability_template",
            "availability_topic", "device", "device_class", "enabled_by_default", "encoding", "entity_category",
            "entity_picture", "expire_after", "force_update", "icon", "json_attributes_template",
            "json_attributes_topic", "last_reset_value_template", "name", "object_id", "options", "payload_available",
            "payload_not_available", "suggested_display_precision", "qos", "state_class", "state_topic", "unique_id",
            "unit_of_measurement", "value_template",
            "origin",
            // Home Assistant 2025.10 replaced object_id with default_entity_id ("sensor.<object id>"); older
            // versions ignore it (unknown keys in a discovery payload are allowed and ignored)
            "default_entity_id");
    private static final Set<String> DEVICE_KEYS = Set.of("configuration_url", "connections", "hw_version",
            "identifiers", "manufacturer", "model", "model_id", "name", "serial_number", "suggested_area", "sw_version",
            "via_device");
    private static final Set<String> ORIGIN_KEYS = Set.of("name", "sw_version", "support_url");

    private static final String DEVICE = """
            "device": {"identifiers": ["phi_edge_agent_edge-01"], "name": "Phi Edge Agent edge-01",
                       "manufacturer": "Phi Edge Agent", "model": "phi3-mini-q4", "sw_version": "0.1.0"},
            "origin": {"name": "Phi Edge Agent", "sw_version": "0.1.0"}
            """;
    private static final String AVAILABILITY = """
            "availability_topic": "edge-agent/edge-01/status",
            "payload_available": "online",
            "payload_not_available": "offline",
            """;

    @TempDir
    Path dir;

    private AgentConfig config(List<String> routes) throws Exception {
        return HaConfigs.load(dir, "edge-01", "tcp://127.0.0.1:1883", routes);
    }

    private HomeAssistantDiscovery discovery(AgentConfig config) {
        return new HomeAssistantDiscovery(config, HomeAssistantSettings.of(true, null), "phi3-mini-q4", "0.1.0",
                dir.resolve("store"));
    }

    private static List<String> all() {
        return List.of(HaConfigs.FRONT_DOOR, HaConfigs.CAMERA_SUMMARY, HaConfigs.GREENHOUSE, HaConfigs.ZONES, HaConfigs.RAW);
    }

    private static JsonNode payload(List<OutboundMessage> messages, String topic) throws Exception {
        OutboundMessage m = messages.stream().filter(x -> x.topic().equals(topic)).findFirst()
                .orElseThrow(() -> new AssertionError("no message on " + topic + " among " + messages.stream().map(OutboundMessage::topic).toList()));
        return JSON.readTree(m.payload());
    }

    @Test
    void classifyRouteIsAnEnumSensorOfItsLabels() throws Exception {
        List<OutboundMessage> configs = discovery(config(all())).configs();
        JsonNode expected = JSON.readTree("""
                {
                  "name": "front-door",
                  "unique_id": "phi_edge_agent_edge-01_route_front-door",
                  "default_entity_id": "sensor.phi_edge_edge_01_front_door",
                  "state_topic": "home/front-door/verdict",
                  "value_template": "{{ value_json.label }}",
                  "json_attributes_topic": "home/front-door/verdict",
                  "json_attributes_template": "{{ value_json.scores | tojson }}",
                  "device_class": "enum",
                  "options": ["person", "vehicle", "nothing"],
                  "icon": "mdi:tag-outline",
                  "qos": 1,
                """ + AVAILABILITY + DEVICE + "}");
        assertEquals(expected, payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_route_front-door/config"));
    }

    @Test
    void summarizeRouteCutsItsStateTo255CharactersAndKeepsTheWholeText() throws Exception {
        List<OutboundMessage> configs = discovery(config(all())).configs();
        // "Camera Summary" has a space, which a topic's object id may not: '_' and the first 4 bytes of its
        // SHA-256 (printf 'Camera Summary' | sha256sum: e995dde5...)
        JsonNode expected = JSON.readTree("""
                {
                  "name": "Camera Summary",
                  "unique_id": "phi_edge_agent_edge-01_route_Camera_Summary_e995dde5",
                  "default_entity_id": "sensor.phi_edge_edge_01_camera_summary",
                  "state_topic": "summaries/edge-01/latest",
                  "value_template": "{{ value_json.summary[:255] }}",
                  "json_attributes_topic": "summaries/edge-01/latest",
                  "json_attributes_template": "{{ {'summary': value_json.summary} | tojson }}",
                  "icon": "mdi:text-box-outline",
                  "qos": 0,
                """ + AVAILABILITY + DEVICE + "}");
        assertEquals(expected, payload(configs,
                "homeassistant/sensor/phi_edge_agent_edge-01_route_Camera_Summary_e995dde5/config"));
    }

    @Test
    void placeholderLevelsBecomeWildcardsAndAllPlaceholderTopicsAreSkipped() throws Exception {
        HomeAssistantDiscovery d = discovery(config(all()));
        List<OutboundMessage> configs = d.configs();
        assertEquals("greenhouse/+/climate/assessment",
                payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_route_greenhouse-climate/config")
                        .get("state_topic").asText());
        assertEquals("greenhouse/+/climate/assessment",
                payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_route_greenhouse-climate/config")
                        .get("json_attributes_topic").asText());
        // zone/+/x: {$topic[0]} is always "zone", {$topic[1]} any zone
        assertEquals("out/zone/+", payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_route_zones/config")
                .get("state_topic").asText());
        assertEquals(List.of(new HomeAssistantDiscovery.Skipped("raw",
                "its publish topic '{$topic[1]}/{$topic[2]}' has no fixed level for Home Assistant to subscribe to")),
                d.skipped());
        assertTrue(configs.stream().noneMatch(m -> m.topic().contains("route_raw")));
    }

    @Test
    void diagnosticsReadTheStatsTopic() throws Exception {
        List<OutboundMessage> configs = discovery(config(List.of(HaConfigs.FRONT_DOOR))).configs();
        JsonNode expected = JSON.readTree("""
                {
                  "name": "Queue depth",
                  "unique_id": "phi_edge_agent_edge-01_queue_depth",
                  "default_entity_id": "sensor.phi_edge_edge_01_queue_depth",
                  "state_topic": "edge-agent/edge-01/stats",
                  "value_template": "{{ value_json.queue_depth }}",
                  "state_class": "measurement",
                  "entity_category": "diagnostic",
                  "icon": "mdi:tray-full",
                """ + AVAILABILITY + DEVICE + "}");
        assertEquals(expected, payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_queue_depth/config"));
        JsonNode p50 = payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_latency_p50/config");
        assertEquals("{{ value_json.latency_ms.p50 }}", p50.get("value_template").asText());
        assertEquals("duration", p50.get("device_class").asText());
        assertEquals("ms", p50.get("unit_of_measurement").asText());
        assertEquals("{{ value_json.latency_ms.p95 }}",
                payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_latency_p95/config").get("value_template").asText());
        JsonNode processed = payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_events_processed/config");
        assertEquals("{{ value_json.processed }}", processed.get("value_template").asText());
        assertEquals("total_increasing", processed.get("state_class").asText());
        assertEquals("{{ value_json.dropped_total }}",
                payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_events_dropped/config").get("value_template").asText());
        assertEquals("{{ value_json.tokens_per_s }}",
                payload(configs, "homeassistant/sensor/phi_edge_agent_edge-01_tokens_per_second/config").get("value_template").asText());
        for (OutboundMessage m : configs) {
            JsonNode c = JSON.readTree(m.payload());
            boolean diagnostic = c.get("state_topic").asText().equals("edge-agent/edge-01/stats");
            assertEquals(diagnostic, c.has("entity_category"), m.topic());
            if (diagnostic) {
                assertEquals("diagnostic", c.get("entity_category").asText(), m.topic());
            }
        }
    }

    @Test
    void everyMessageFollowsTheDiscoveryRules() throws Exception {
        List<OutboundMessage> configs = discovery(config(all())).configs();
        assertEquals(4 + 6, configs.size(), "4 routes with an entity, 6 diagnostics");
        Set<String> uniqueIds = new HashSet<>();
        Set<String> entityIds = new HashSet<>();
        for (OutboundMessage m : configs) {
            assertTrue(m.retain(), m.topic());
            assertEquals(1, m.qos(), m.topic());
            // <discovery_prefix>/<component>/<object_id>/config, the object id [a-zA-Z0-9_-] and equal to unique_id
            String[] levels = m.topic().split("/");
            assertEquals(4, levels.length, m.topic());
            assertEquals("homeassistant", levels[0]);
            assertEquals("sensor", levels[1]);
            assertTrue(levels[2].matches("[a-zA-Z0-9_-]+"), m.topic());
            assertEquals("config", levels[3]);
            JsonNode c = JSON.readTree(m.payload());
            assertEquals(levels[2], c.get("unique_id").asText());
            assertTrue(uniqueIds.add(c.get("unique_id").asText()));
            // an entity id: domain.object_id, lower case letters, digits and single underscores inside
            String entityId = c.get("default_entity_id").asText();
            assertTrue(entityId.matches("sensor\\.[a-z0-9]+(_[a-z0-9]+)*"), entityId);
            assertTrue(entityIds.add(entityId), entityId);
            for (Iterator<String> keys = c.fieldNames(); keys.hasNext(); ) {
                String key = keys.next();
                assertTrue(SENSOR_KEYS.contains(key), "undocumented sensor option " + key + " in " + m.topic());
            }
            c.get("device").fieldNames().forEachRemaining(k -> assertTrue(DEVICE_KEYS.contains(k), "device option " + k));
            c.get("origin").fieldNames().forEachRemaining(k -> assertTrue(ORIGIN_KEYS.contains(k), "origin option " + k));
            assertEquals("edge-agent/edge-01/status", c.get("availability_topic").asText());
            assertFalse(c.has("availability"), "availability and availability_topic must not be used together");
            assertEquals(JSON.readTree("[\"phi_edge_agent_edge-01\"]"), c.get("device").get("identifiers"));
            if (c.has("device_class") && c.get("device_class").asText().equals("enum")) {
                assertFalse(c.has("state_class") || c.has("unit_of_measurement"), "options exclude these: " + m.topic());
            }
        }
    }

    @Test
    void theSameConfigurationGivesTheSameMessages() throws Exception {
        AgentConfig config = config(all());
        List<OutboundMessage> first = discovery(config).configs();
        List<OutboundMessage> again = discovery(config(all())).configs();
        assertEquals(first.size(), again.size());
        for (int i = 0; i < first.size(); i++) {
            assertEquals(first.get(i).topic(), again.get(i).topic());
            assertArrayEquals(first.get(i).payload(), again.get(i).payload(), first.get(i).topic());
        }
    }

    @Test
    void prefixAndVersionAreTheCallers() throws Exception {
        HomeAssistantDiscovery d = new HomeAssistantDiscovery(config(List.of(HaConfigs.FRONT_DOOR)),
                HomeAssistantSettings.of(true, "ha/discovery"), "m", null, dir);
        assertEquals("ha/discovery/status", d.birthTopic());
        assertTrue(d.configs().stream().allMatch(m -> m.topic().startsWith("ha/discovery/sensor/")));
        JsonNode c = JSON.readTree(d.configs().getFirst().payload());
        assertFalse(c.get("device").has("sw_version"), "no version: left out");
        assertEquals(JSON.readTree("{\"name\": \"Phi Edge Agent\"}"), c.get("origin"));
    }

    @Test
    void birthIsOnlineOnThePrefixStatusTopic() throws Exception {
        AgentConfig config = config(List.of(HaConfigs.FRONT_DOOR));
        HomeAssistantDiscovery d = discovery(config);
        assertEquals("homeassistant/status", d.birthTopic());
        assertTrue(d.isBirth("homeassistant/status", bytes("online")));
        assertFalse(d.isBirth("homeassistant/status", bytes("offline")), "the last will");
        assertFalse(d.isBirth("homeassistant/status", new byte[0]));
        assertFalse(d.isBirth("homeassistant/status", null));
        assertFalse(d.isBirth("other/status", bytes("online")));
        assertFalse(d.isBirth("edge-agent/edge-01/status", bytes("online")), "our own status is not a birth");
        HomeAssistantDiscovery off = new HomeAssistantDiscovery(config, HomeAssistantSettings.disabled(), "m", "v", dir);
        assertFalse(off.isBirth("homeassistant/status", bytes("online")));
    }

    @Test
    void removedRoutesAreClearedAcrossRestarts() throws Exception {
        Path store = dir.resolve("store");
        String doorTopic = "homeassistant/sensor/phi_edge_agent_edge-01_route_front-door/config";

        HomeAssistantDiscovery first = discovery(config(List.of(HaConfigs.FRONT_DOOR, HaConfigs.GREENHOUSE)));
        HomeAssistantDiscovery.Publication p1 = first.publication();
        assertEquals(List.of(), p1.removals(), "nothing recorded yet");
        first.recordPublished(p1);
        assertTrue(Files.isRegularFile(store.resolve(HomeAssistantDiscovery.RECORD_FILE)));

        // restart without the front-door route: its config topic is cleared with an empty retained message
        HomeAssistantDiscovery second = discovery(config(List.of(HaConfigs.GREENHOUSE)));
        HomeAssistantDiscovery.Publication p2 = second.publication();
        assertEquals(1, p2.removals().size(), p2.removals().toString());
        OutboundMessage removal = p2.removals().getFirst();
        assertEquals(doorTopic, removal.topic());
        assertEquals(0, removal.payload().length);
        assertTrue(removal.retain());
        assertEquals(1, removal.qos());
        assertEquals(removal, p2.messages().getFirst(), "removals go first");
        assertEquals(p2.configs().size() + 1, p2.messages().size());
        second.recordPublished(p2);

        // not confirmed: sent again after the next restart
        HomeAssistantDiscovery third = discovery(config(List.of(HaConfigs.GREENHOUSE)));
        HomeAssistantDiscovery.Publication p3 = third.publication();
        assertEquals(List.of(doorTopic), p3.removals().stream().map(OutboundMessage::topic).toList());
        third.removalDelivered(doorTopic);
        assertEquals(List.of(), third.publication().removals(), "confirmed: not sent again");
        third.recordPublished(p3);

        HomeAssistantDiscovery fourth = discovery(config(List.of(HaConfigs.GREENHOUSE)));
        assertEquals(List.of(), fourth.publication().removals(), "the record forgot it");

        // the route comes back: announced again, and a later removal works again
        HomeAssistantDiscovery fifth = discovery(config(List.of(HaConfigs.FRONT_DOOR, HaConfigs.GREENHOUSE)));
        HomeAssistantDiscovery.Publication p5 = fifth.publication();
        assertTrue(p5.configs().stream().anyMatch(m -> m.topic().equals(doorTopic)));
        fifth.recordPublished(p5);
        HomeAssistantDiscovery sixth = discovery(config(List.of(HaConfigs.GREENHOUSE)));
        assertEquals(List.of(doorTopic), sixth.publication().removals().stream().map(OutboundMessage::topic).toList());
    }

    @Test
    void turningDiscoveryOffClearsEverythingRecorded() throws Exception {
        AgentConfig config = config(List.of(HaConfigs.FRONT_DOOR));
        HomeAssistantDiscovery on = discovery(config);
        HomeAssistantDiscovery.Publication published = on.publication();
        on.recordPublished(published);

        HomeAssistantDiscovery off = new HomeAssistantDiscovery(config, HomeAssistantSettings.disabled(), "phi3-mini-q4",
                "0.1.0", dir.resolve("store"));
        assertFalse(off.enabled());
        assertEquals(List.of(), off.configs());
        assertEquals(List.of(), off.entities());
        HomeAssistantDiscovery.Publication clear = off.publication();
        assertEquals(published.configs().stream().map(OutboundMessage::topic).sorted().toList(),
                clear.removals().stream().map(OutboundMessage::topic).sorted().toList());
        assertTrue(clear.removals().stream().allMatch(m -> m.payload().length == 0 && m.retain()));
        assertEquals(List.of(), clear.configs());
    }

    @Test
    void anUnreadableRecordMeansNoRemovals() throws Exception {
        Path store = Files.createDirectories(dir.resolve("store"));
        Files.writeString(store.resolve(HomeAssistantDiscovery.RECORD_FILE), "{not json");
        HomeAssistantDiscovery d = discovery(config(List.of(HaConfigs.FRONT_DOOR)));
        HomeAssistantDiscovery.Publication p = d.publication();
        assertEquals(List.of(), p.removals());
        assertEquals(7, p.configs().size());
        d.recordPublished(p); // and a good record replaces it
        assertEquals(List.of(), discovery(config(List.of(HaConfigs.FRONT_DOOR))).publication().removals());
        assertTrue(Files.readString(store.resolve(HomeAssistantDiscovery.RECORD_FILE))
                .contains("homeassistant/sensor/phi_edge_agent_edge-01_route_front-door/config"));
    }

    @Test
    void idsFitTheirCharacterSets() {
        assertEquals("front-door", HomeAssistantDiscovery.topicId("front-door"));
        assertEquals("Camera_Summary_e995dde5", HomeAssistantDiscovery.topicId("Camera Summary"));
        // printf '日本' | sha256sum: cf2abf0c...
        assertEquals("___cf2abf0c", HomeAssistantDiscovery.topicId("日本"));
        assertEquals("edge_01", HomeAssistantDiscovery.slug("edge-01"));
        assertEquals("camera_summary", HomeAssistantDiscovery.slug("  Camera -- Summary! "));
        assertEquals("xcf2abf0c", HomeAssistantDiscovery.slug("日本"));
    }

    @Test
    void settingsRefuseBadPrefixes() {
        assertEquals("homeassistant", HomeAssistantSettings.of(true, null).prefix());
        assertEquals("homeassistant", HomeAssistantSettings.disabled().prefix());
        assertFalse(HomeAssistantSettings.disabled().discovery());
        assertEquals("ha/disc/status", HomeAssistantSettings.of(true, " ha/disc ").statusTopic());
        for (String bad : List.of("", "  ", "ha/#", "ha/+/x", "/ha", "ha/", "a//b", "$SYS")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HomeAssistantSettings.of(true, bad));
            assertTrue(e.getMessage().contains("discovery prefix"), e.getMessage());
        }
        assertEquals(null, HomeAssistantSettings.prefixProblem("homeassistant"));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
