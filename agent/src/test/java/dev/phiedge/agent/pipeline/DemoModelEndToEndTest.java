package dev.phiedge.agent.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.phiedge.agent.backend.Backends;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.SharedData;
import dev.phiedge.agent.testing.TestClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon end to end with the trained demo model, the real runtime and a real Mosquitto: every
 * event of shared/models/demo/examples.jsonl, published on its topic, yields one result with the
 * documented schema and the expected label or summary.
 */
class DemoModelEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int WINDOW = 20;

    @TempDir
    Path dir;

    /** samples/config/demo.yaml, pointed at the test broker (everything else verbatim). */
    private AgentConfig demoConfig(String brokerUrl) throws Exception {
        Path samples = SharedData.repoRoot().resolve("samples/config");
        String yaml = Files.readString(samples.resolve("demo.yaml"))
                .replace("url: tcp://127.0.0.1:1883", "url: " + brokerUrl)
                .replace("path: ../models/", "path: " + samples.resolve("../models").toAbsolutePath().normalize() + "/");
        Path file = dir.resolve("demo.yaml");
        Files.writeString(file, yaml);
        return ConfigLoader.load(file);
    }

    @Test
    void everyExampleEventGetsItsExpectedAnswer() throws Exception {
        List<JsonNode> examples = new ArrayList<>();
        for (String line : Files.readAllLines(SharedData.require("models/demo/examples.jsonl"))) examples.add(JSON.readTree(line));

        try (MosquittoBroker broker = MosquittoBroker.start();
             TestClient client = new TestClient(broker.url(), "e2e-observer")) {
            AgentConfig config = demoConfig(broker.url());
            client.subscribe("greenhouse/+/climate/assessment");
            client.subscribe("cameras/+/description");
            client.subscribe("edge-agent/demo/errors");
            try (EdgeAgent agent = new EdgeAgent(config, Backends.create(config.model()))) {
                agent.start();
                assertTrue(agent.awaitConnected(Duration.ofSeconds(20)), "agent connects");
                // The greenhouse payloads carry no id; give each one so results can be matched to events.
                Map<String, JsonNode> byId = new HashMap<>();
                for (int i = 0; i < examples.size(); i++) {
                    JsonNode ex = examples.get(i);
                    ObjectNode payload = (ObjectNode) ex.get("payload").deepCopy();
                    String id = payload.has("after") ? payload.get("after").get("id").textValue() : "example-" + i;
                    if (!payload.has("after")) payload.put("id", id);
                    byId.put(id, ex);
                    client.publish(ex.get("topic").textValue(), JSON.writeValueAsBytes(payload), 1);
                    // Publish in windows the queue holds, then collect that window's answers.
                    if ((i + 1) % WINDOW == 0 || i + 1 == examples.size()) {
                        int expected = (i % WINDOW) + 1;
                        for (int k = 0; k < expected; k++) {
                            TestClient.Received r = client.await(m -> m.topic().startsWith("greenhouse/") || m.topic().startsWith("cameras/")
                                    || m.topic().endsWith("/errors"), WAIT, "a result");
                            JsonNode result = JSON.readTree(r.payload());
                            assertTrue(!r.topic().endsWith("/errors"), "no event may be rejected: " + result);
                            checkResult(r.topic(), result, byId.remove(result.get("event_id").textValue()));
                        }
                    }
                }
                assertTrue(byId.isEmpty(), "unanswered events: " + byId.keySet());
                assertEquals(examples.size(), agent.stats().processed());
            }
        }
    }

    private static void checkResult(String topic, JsonNode result, JsonNode example) {
        assertTrue(example != null, "a result for an unknown or already answered event: " + result);
        String route = example.get("route").textValue();
        String expected = example.get("expected").textValue();
        assertEquals("demo", result.get("device").textValue());
        assertEquals(route, result.get("route").textValue());
        assertEquals(example.get("topic").textValue(), result.get("source_topic").textValue());
        assertEquals("phi3-edge-demo.Q4_0", result.get("model").textValue());
        assertEquals(example.get("prompt_tokens").size(), result.get("prompt_tokens").intValue(), "prompt token count");
        assertTrue(result.get("queued_ms").isNumber() && result.get("inference_ms").isNumber());
        Instant.parse(result.get("ts").textValue());
        if (route.equals("greenhouse-climate")) {
            assertEquals("classify", result.get("task").textValue());
            String zone = example.get("topic").textValue().split("/")[1];
            assertEquals("greenhouse/" + zone + "/climate/assessment", topic);
            assertEquals(expected, result.get("label").textValue(), example.get("user_prompt").textValue());
            double sum = 0;
            for (String label : List.of("normal", "warning", "critical")) sum += result.get("scores").get(label).doubleValue();
            assertEquals(1.0, sum, 1e-6, "scores are a distribution over the labels");
        } else {
            assertEquals("summarize", result.get("task").textValue());
            assertEquals("cameras/" + example.get("payload").get("after").get("camera").textValue() + "/description", topic);
            assertEquals(expected, result.get("summary").textValue(), example.get("user_prompt").textValue());
            assertTrue(result.get("generated_tokens").intValue() > 0);
        }
    }
}
