package dev.phiedge.agent.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.testing.BrokerAndModel;
import dev.phiedge.agent.testing.GatedBackend;
import dev.phiedge.agent.testing.SharedData;
import dev.phiedge.agent.testing.TestClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon with its integrations switched on, against real Mosquitto and the real demo model: route
 * conditions on Frigate-shaped events, the description write-back to a Frigate API the test owns, Home
 * Assistant discovery after connecting and after HA's birth message, and /healthz.
 */
class EdgeAgentIntegrationsTest {

    @RegisterExtension
    static final BrokerAndModel shared = new BrokerAndModel();

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** The Frigate API stand-in: POST /api/events/{id}/description; answers 404 for ids starting "gone". */
    private HttpServer frigate;
    private final List<String> descriptions = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startFrigate() throws IOException {
        frigate = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        frigate.createContext("/api/events/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            int status = path.contains("/gone") ? 404 : 200;
            if (status == 200 && exchange.getRequestMethod().equals("POST") && path.endsWith("/description")) {
                descriptions.add(path + " " + JSON.readTree(body).path("description").asText());
            }
            byte[] answer = (status == 200 ? "{\"success\":true}" : "{\"success\":false}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        frigate.start();
    }

    @AfterEach
    void stopFrigate() {
        frigate.stop(0);
    }

    /** demo.yaml under a per-test prefix, the camera route only on Frigate's `end` events, with write-back. */
    private AgentConfig config(String d) throws Exception {
        String yaml = Files.readString(SharedData.repoRoot().resolve("samples/config/demo.yaml"));
        yaml = yaml.replace("device_id: demo", "device_id: " + d)
                .replace("  url: tcp://127.0.0.1:1883", "  url: " + shared.broker().url() + "\n  reconnect_max_s: 1")
                .replace("path: ../models/phi3-edge-demo.Q4_0.gguf", "path: " + BrokerAndModel.DEMO_MODEL)
                .replace("subscribe: greenhouse/+/climate", "subscribe: " + d + "/greenhouse/+/climate")
                .replace("Zone {$topic[1]}", "Zone {$topic[2]}")
                .replace("publish: greenhouse/{$topic[1]}/climate/assessment", "publish: " + d + "/greenhouse/{$topic[2]}/climate/assessment")
                .replace("subscribe: frigate/events", "subscribe: " + d + "/frigate/events\n"
                        + "    when: {type: [end], after.label: [person, car, goat], after.top_score: \">= 0.6\"}\n"
                        + "    frigate_description: true")
                .replace("publish: cameras/", "publish: " + d + "/cameras/");
        yaml += "frigate: {url: 'http://127.0.0.1:" + frigate.getAddress().getPort() + "', timeout_s: 2, retries: 1}\n"
                + "homeassistant: {discovery: true, prefix: " + d + "-ha}\n"
                + "http: {listen: '127.0.0.1:" + freePort() + "'}\n"
                + "store: {path: " + dir.resolve("store") + "}\n";
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, yaml);
        try {
            return ConfigLoader.load(file);
        } catch (dev.phiedge.agent.config.ConfigException e) {
            throw new AssertionError(e.problems() + "\n" + yaml, e);
        }
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static byte[] frigateEvent(String type, String id, String label, double score) {
        // Shaped as Frigate documents frigate/events (docs.frigate.video/integrations/mqtt), as the demo model saw them.
        return ("{\"type\":\"" + type + "\",\"before\":{\"id\":\"" + id + "\",\"camera\":\"cam55\"},\"after\":{\"id\":\"" + id
                + "\",\"camera\":\"cam55\",\"label\":\"" + label + "\",\"top_score\":" + score
                + ",\"entered_zones\":[\"lawn\",\"path\"],\"start_time\":1765044285}}").getBytes(StandardCharsets.UTF_8);
    }

    private static String health(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body();
    }

    @Test
    void onlyEndEventsAreDescribedWrittenBackToFrigateAndSeenByHomeAssistant(TestInfo info) throws Exception {
        String d = info.getTestMethod().orElseThrow().getName().substring(0, 12);
        AgentConfig config = config(d);
        try (EdgeAgent agent = new EdgeAgent(config, GatedBackend.open(shared.model()))) {
            int port;
            try (TestClient client = new TestClient(shared.broker().url(), d + "-test")) {
                client.subscribe(d + "/cameras/#");
                client.subscribe(d + "-ha/#");
                client.subscribe("edge-agent/" + d + "/errors");
                agent.start();
                assertTrue(agent.awaitConnected(WAIT));
                port = agent.metricsPort().orElseThrow();
                assertEquals("200 {\"status\":\"ok\"}", health(port));

                // Discovery: retained configs for both routes, published after connecting.
                client.await(r -> r.topic().startsWith(d + "-ha/sensor/") && r.text().contains("camera-events"), WAIT,
                        "the camera route's discovery config");
                TestClient.Received camera;
                try (TestClient late = new TestClient(shared.broker().url(), d + "-late")) {
                    late.subscribe(d + "-ha/#"); // a Home Assistant that starts later gets the configs: they are retained
                    camera = late.await(r -> r.topic().startsWith(d + "-ha/sensor/") && r.text().contains("camera-events"),
                            WAIT, "the retained config");
                }
                assertTrue(camera.retained());
                JsonNode cameraConfig = JSON.readTree(camera.payload());
                assertEquals("edge-agent/" + d + "/status", cameraConfig.path("availability_topic").asText(
                        cameraConfig.path("availability").path(0).path("topic").asText()));
                client.drain(d + "-ha/#");

                // Frigate: new and update are filtered; a low score is filtered; only the end is answered.
                client.publish(d + "/frigate/events", frigateEvent("new", "1994535237.502467-i630", "goat", 0.65), 1);
                client.publish(d + "/frigate/events", frigateEvent("update", "1994535237.502467-i630", "goat", 0.65), 1);
                client.publish(d + "/frigate/events", frigateEvent("end", "1994535237.502467-i631", "goat", 0.40), 1);
                client.publish(d + "/frigate/events", frigateEvent("end", "1994535237.502467-i630", "goat", 0.65), 1);
                JsonNode result = JSON.readTree(client.awaitTopic(d + "/cameras/cam55/description", WAIT).payload());
                // The demo model's reference answer for this event (shared/models/demo/examples.jsonl).
                assertEquals("The goat left cam55.", result.get("summary").asText());
                assertEquals("1994535237.502467-i630", result.get("event_id").asText());
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (descriptions.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(List.of("/api/events/1994535237.502467-i630/description The goat left cam55."), descriptions);
                assertEquals(3, agent.stats().filtered());
                assertEquals(0, agent.stats().rejectedTotal(), "filtered events are not errors");

                // A write-back Frigate refuses (404: unknown event) is reported; the MQTT result still arrives.
                client.publish(d + "/frigate/events", frigateEvent("end", "gone-1", "goat", 0.65), 1);
                assertEquals("gone-1", JSON.readTree(client.awaitTopic(d + "/cameras/cam55/description", WAIT).payload())
                        .get("event_id").asText());
                JsonNode error = JSON.readTree(client.awaitTopic("edge-agent/" + d + "/errors", WAIT).payload());
                assertEquals("frigate_writeback_failed", error.get("reason").asText());
                assertEquals("gone-1", error.get("event_id").asText());

                // Home Assistant restarted: its birth message makes the agent publish the configs again.
                client.publish(d + "-ha/status", "online".getBytes(StandardCharsets.UTF_8), 0);
                client.await(r -> r.topic().startsWith(d + "-ha/sensor/") && r.text().contains("camera-events"),
                        Duration.ofSeconds(15), "the configs again after HA's birth message");
            }

            // /healthz turns 503 when the broker goes away, and back to 200 when it returns.
            shared.broker().stop();
            long deadline = System.nanoTime() + WAIT.toNanos();
            String down = health(port);
            while (!down.startsWith("503") && System.nanoTime() < deadline) {
                Thread.sleep(50);
                down = health(port);
            }
            assertTrue(down.startsWith("503") && down.contains("broker"), down);
            shared.broker().startProcess();
            assertTrue(agent.awaitConnected(WAIT));
            assertEquals("200 {\"status\":\"ok\"}", health(port));
        }
        assertFalse(descriptions.isEmpty());
    }
}
