package dev.phiedge.agent.homeassistant;

import dev.phiedge.agent.config.HomeAssistantSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.mqtt.MqttConnection;
import dev.phiedge.agent.mqtt.OutboundMessage;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.TestClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Discovery through a real Mosquitto, published the way the daemon does (the agent's own
 * {@link MqttConnection}, which also sets the retained {@code online} the entities' availability reads):
 * a subscriber that comes later (as Home Assistant does after a restart) gets every config retained;
 * after a restart without a route, that route's config is cleared and a new subscriber no longer gets it.
 */
class HomeAssistantDiscoveryBrokerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void configsAreRetainedAndARemovedRouteDisappears() throws Exception {
        try (MosquittoBroker broker = MosquittoBroker.start()) {
            AgentConfig before = HaConfigs.load(dir, "edge-01", broker.url(),
                    List.of(HaConfigs.FRONT_DOOR, HaConfigs.CAMERA_SUMMARY, HaConfigs.GREENHOUSE));
            HomeAssistantDiscovery first = discovery(before);
            Map<String, byte[]> announced = new TreeMap<>();
            first.configs().forEach(m -> announced.put(m.topic(), m.payload()));
            assertEquals(3 + 6, announced.size());
            publishAsTheAgent(broker, before, first);

            // Home Assistant starting later: every config is there, retained, as published
            Map<String, TestClient.Received> seen = retainedUnder(broker, "ha-first", "homeassistant/#", announced.keySet());
            assertEquals(announced.keySet(), seen.keySet());
            for (Map.Entry<String, byte[]> e : announced.entrySet()) {
                TestClient.Received r = seen.get(e.getKey());
                assertTrue(r.retained(), e.getKey());
                JsonNode config = JSON.readTree(r.payload());
                assertEquals(JSON.readTree(e.getValue()), config, e.getKey());
                for (String key : List.of("name", "unique_id", "state_topic", "value_template", "availability_topic",
                        "payload_available", "payload_not_available", "device", "origin")) {
                    assertTrue(config.has(key), key + " in " + e.getKey());
                }
            }
            // the agent stopped cleanly: its entities read unavailable
            assertEquals("offline", retainedStatus(broker, "ha-status"));

            // restart without the front-door route
            AgentConfig after = HaConfigs.load(dir, "edge-01", broker.url(),
                    List.of(HaConfigs.CAMERA_SUMMARY, HaConfigs.GREENHOUSE));
            HomeAssistantDiscovery second = discovery(after);
            String door = "homeassistant/sensor/phi_edge_agent_edge-01_route_front-door/config";
            assertEquals(List.of(door), second.publication().removals().stream().map(OutboundMessage::topic).toList());
            int cleared = publishAsTheAgent(broker, after, second);
            assertEquals(1, cleared, "the removal was acknowledged");

            Set<String> remaining = new TreeSet<>(announced.keySet());
            remaining.remove(door);
            Map<String, TestClient.Received> later = retainedUnder(broker, "ha-second", "homeassistant/#", remaining);
            assertEquals(remaining, later.keySet(), "the removed route's config is gone; the others stay");

            // and the record knows it is done: a third start has nothing to clear
            assertEquals(List.of(), discovery(after).publication().removals());
        }
    }

    private HomeAssistantDiscovery discovery(AgentConfig config) {
        return new HomeAssistantDiscovery(config, HomeAssistantSettings.of(true, null), "phi3-mini-q4", "0.1.0",
                config.store().directory());
    }

    /**
     * Connects as the daemon does, publishes {@code discovery.publication()} with delivery callbacks,
     * records it, and disconnects cleanly. Returns how many removals the broker acknowledged.
     */
    private static int publishAsTheAgent(MosquittoBroker broker, AgentConfig config, HomeAssistantDiscovery discovery)
            throws Exception {
        MqttConnection connection = new MqttConnection(config.mqtt(), config.deviceId(), config.agentTopic("status"),
                List.of(), message -> { });
        try {
            connection.start();
            assertTrue(connection.awaitConnected(WAIT), "the agent's connection did not connect");
            // the availability the entities read
            assertEquals("online", retainedStatus(broker, "ha-status-" + System.nanoTime()));
            HomeAssistantDiscovery.Publication publication = discovery.publication();
            List<OutboundMessage> messages = publication.messages();
            CountDownLatch done = new CountDownLatch(messages.size());
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            AtomicInteger removalsDelivered = new AtomicInteger();
            for (OutboundMessage m : messages) {
                boolean removal = m.payload().length == 0;
                connection.publish(m, new MqttConnection.Delivery() {
                    @Override
                    public void delivered() {
                        if (removal) {
                            discovery.removalDelivered(m.topic());
                            removalsDelivered.incrementAndGet();
                        }
                        done.countDown();
                    }

                    @Override
                    public void refused(int reasonCode, String reason) {
                        problems.add(m.topic() + ": refused " + reason);
                        done.countDown();
                    }

                    @Override
                    public void failed(String reason) {
                        problems.add(m.topic() + ": failed " + reason);
                        done.countDown();
                    }
                });
            }
            assertTrue(done.await(WAIT.toSeconds(), TimeUnit.SECONDS), "not every discovery message was acknowledged");
            assertEquals(List.of(), new ArrayList<>(problems));
            discovery.recordPublished(publication);
            return removalsDelivered.get();
        } finally {
            connection.close();
        }
    }

    /**
     * Subscribes a fresh client to {@code filter} and collects what the broker replays, until every
     * expected topic came and then a quiet half second (a config that should be gone would come with the
     * others: the broker sends all retained messages right after the subscription).
     */
    private static Map<String, TestClient.Received> retainedUnder(MosquittoBroker broker, String clientId, String filter,
                                                                  Set<String> expected) throws Exception {
        Map<String, TestClient.Received> seen = new TreeMap<>();
        try (TestClient client = new TestClient(broker.url(), clientId)) {
            client.subscribe(filter);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!seen.keySet().containsAll(expected)) {
                if (System.nanoTime() > deadline) {
                    fail("retained configs missing: " + missing(expected, seen.keySet()));
                }
                TestClient.Received r = client.await(x -> true, WAIT, "a retained config under " + filter);
                seen.put(r.topic(), r);
            }
            drainAll(client, seen); // and whatever else comes within a quiet half second
        }
        return seen;
    }

    private static void drainAll(TestClient client, Map<String, TestClient.Received> seen) throws Exception {
        while (true) {
            TestClient.Received r;
            try {
                r = client.await(x -> true, Duration.ofMillis(500), "more");
            } catch (AssertionError none) {
                return;
            }
            seen.put(r.topic(), r);
        }
    }

    private static String retainedStatus(MosquittoBroker broker, String clientId) throws Exception {
        try (TestClient status = new TestClient(broker.url(), clientId)) {
            status.subscribe("edge-agent/edge-01/status");
            TestClient.Received r = status.awaitTopic("edge-agent/edge-01/status", WAIT);
            assertTrue(r.retained());
            return r.text();
        }
    }

    private static Set<String> missing(Set<String> expected, Set<String> seen) {
        Set<String> out = new TreeSet<>(expected);
        out.removeAll(seen);
        return out;
    }
}
