package dev.phiedge.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;

/**
 * Publishes sample events on a broker at a steady pace, the way sensors and a camera NVR would, and
 * returns when the last one is out. Samples are JSON lines (see {@code samples/payloads/}):
 * <pre>{"topic": "greenhouse/3/climate", "payload": {...}, "expected": "critical"}</pre>
 * {@code expected} is optional: what the demo model should answer (the demo prints it next to a wrong answer).
 */
public final class EventSimulator {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One sample: where it is published, the exact payload bytes, and the answer it should get. */
    public record Sample(String topic, byte[] payload, JsonNode json, Optional<String> expected) {}

    private final String url;
    private final List<Sample> samples;
    private final Duration pace;

    /**
     * @param pace the time between two publications (zero: as fast as the broker takes them)
     */
    public EventSimulator(String url, List<Sample> samples, Duration pace) {
        this.url = url;
        this.samples = List.copyOf(samples);
        this.pace = pace;
    }

    /** Every {@code *.jsonl} file of a folder, in name order, interleaved so that the kinds alternate. */
    public static List<Sample> loadFolder(Path folder) throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(folder, "*.jsonl")) {
            stream.forEach(files::add);
        }
        files.sort(null);
        if (files.isEmpty()) {
            throw new IOException("no *.jsonl sample files in " + folder);
        }
        List<List<Sample>> perFile = new ArrayList<>();
        for (Path file : files) {
            perFile.add(load(file));
        }
        List<Sample> interleaved = new ArrayList<>();
        for (int i = 0; interleaved.size() < perFile.stream().mapToInt(List::size).sum(); i++) {
            for (List<Sample> list : perFile) {
                if (i < list.size()) {
                    interleaved.add(list.get(i));
                }
            }
        }
        return interleaved;
    }

    /** The samples of one JSON-lines file; blank lines and lines starting with {@code #} are skipped. */
    public static List<Sample> load(Path file) throws IOException {
        List<Sample> samples = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file + ":" + (i + 1) + ": ";
            JsonNode row;
            try {
                row = JSON.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(where + "not JSON: " + e.getOriginalMessage(), e);
            }
            if (!row.path("topic").isTextual() || row.path("topic").textValue().isEmpty()) {
                throw new IOException(where + "needs a \"topic\" string");
            }
            if (!row.has("payload")) {
                throw new IOException(where + "needs a \"payload\"");
            }
            JsonNode payload = row.get("payload");
            // a string payload is sent as its text (for samples that are not JSON); anything else as compact JSON
            byte[] bytes = payload.isTextual() ? payload.textValue().getBytes(StandardCharsets.UTF_8)
                    : JSON.writeValueAsBytes(payload);
            Optional<String> expected = row.path("expected").isTextual()
                    ? Optional.of(row.get("expected").textValue()) : Optional.empty();
            samples.add(new Sample(row.get("topic").textValue(), bytes, payload, expected));
        }
        return samples;
    }

    public List<Sample> samples() {
        return samples;
    }

    /**
     * Connects, publishes every sample at QoS 1 (each waits for the broker's acknowledgement), and
     * disconnects. {@code beforePublish} is called just before each sample goes out, so a listener can
     * expect its answer before the answer can possibly arrive.
     *
     * @return the number of samples published
     */
    public int run(Consumer<Sample> beforePublish) throws MqttException, InterruptedException {
        MqttClient client = new MqttClient(url, "edge-agent-demo-simulator", new MemoryPersistence());
        try {
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(true);
            options.setConnectionTimeout(10);
            client.connect(options);
            int count = 0;
            for (Sample sample : samples) {
                if (count > 0 && !pace.isZero()) {
                    Thread.sleep(pace);
                }
                beforePublish.accept(sample);
                MqttMessage message = new MqttMessage(sample.payload());
                message.setQos(1);
                client.publish(sample.topic(), message);
                count++;
            }
            client.disconnect();
            return count;
        } finally {
            client.close();
        }
    }
}
