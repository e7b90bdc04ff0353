package dev.phiedge.agent.homeassistant;

import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Configurations for the discovery tests, read by the real loader from YAML (a stand-in GGUF file as the model). */
final class HaConfigs {

    /** A classify route with a fixed publish topic. */
    static final String FRONT_DOOR = """
              - name: front-door
                subscribe: cameras/front/events
                task: classify
                labels: [person, vehicle, nothing]
                prompt: "Camera {camera}: {label}"
                publish: home/front-door/verdict
                qos: 1
                retain: true
            """;

    /** A summarize route whose publish topic is fixed once {$device} is filled in. */
    static final String CAMERA_SUMMARY = """
              - name: Camera Summary
                subscribe: frigate/events/new
                task: summarize
                prompt: "Event {type} on camera {after.camera}"
                publish: summaries/{$device}/latest
                qos: 0
            """;

    /** A classify route with a placeholder level: its entity reads a wildcard. */
    static final String GREENHOUSE = """
              - name: greenhouse-climate
                subscribe: greenhouse/+/climate
                task: classify
                labels: [normal, warning, critical]
                prompt: "Zone {$topic[1]}: temperature {temperature}"
                publish: greenhouse/{$topic[1]}/climate/assessment
            """;

    /** {$topic[0]} is a literal level of the subscription: known; {$topic[1]} is not. */
    static final String ZONES = """
              - name: zones
                subscribe: zone/+/x
                task: classify
                labels: [open, closed]
                prompt: "{state}"
                publish: out/{$topic[0]}/{$topic[1]}
            """;

    /** Every level a placeholder: no entity. */
    static final String RAW = """
              - name: raw
                subscribe: raw/+/+
                task: summarize
                prompt: "{text}"
                publish: "{$topic[1]}/{$topic[2]}"
            """;

    private HaConfigs() {}

    static AgentConfig load(Path dir, String deviceId, String brokerUrl, List<String> routes) throws Exception {
        Path model = dir.resolve("model.gguf");
        if (!Files.exists(model)) {
            Files.write(model, "GGUF-not-a-real-model".getBytes(StandardCharsets.US_ASCII));
        }
        String yaml = "device_id: " + deviceId + "\n"
                + "mqtt:\n  url: " + brokerUrl + "\n  reconnect_initial_ms: 200\n  reconnect_max_s: 2\n"
                + "model:\n  path: model.gguf\n"
                + "store:\n  path: store\n"
                + "routes:\n" + String.join("", routes);
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, yaml);
        return ConfigLoader.load(file);
    }
}
