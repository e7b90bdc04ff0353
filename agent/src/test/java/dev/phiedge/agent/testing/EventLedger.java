package dev.phiedge.agent.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.common.MqttException;

/**
 * Counts, by event id, what goes in and what comes out. It publishes numbered greenhouse climate events
 * ({@code {"id":"e17","temperature":21.0,...}} on {@code <namespace>/greenhouse/<zone>/climate}, QoS 1,
 * each one acknowledged by the broker before the next), taken in turn from the demo model's own
 * examples (shared/models/demo/examples.jsonl, the greenhouse lines, with their Q4_0 reference label),
 * and collects the results on {@code <namespace>/greenhouse/+/climate/assessment} by their
 * {@code event_id}: answered, duplicates (QoS 1 allows them: counted, never hidden), lost.
 *
 * <p>Both clients are {@link ResilientClient}s: the results subscriber has a persistent session and
 * subscribes before anything is sent, so it misses nothing across a broker restart, and both are back
 * within a quarter of a second of the broker.
 */
public final class EventLedger implements AutoCloseable {

    /** One event as sent; {@code expectAnswer} false for events whose result the test expects to be refused. */
    public record Sent(String id, String topic, String expectedLabel, boolean acked, boolean expectAnswer) {}

    /**
     * The account.
     *
     * @param expected   events sent whose answer is expected
     * @param answered   of those, how many were answered at least once
     * @param duplicates answers beyond the first, all ids together
     * @param unknown    results whose event_id the ledger never sent
     * @param wrongLabel answers whose label differs from the example's reference label (reported, not a loss)
     * @param lost       expected ids never answered, in the order sent
     */
    public record Summary(int sent, int acked, int expected, int answered, int duplicates, int unknown, int wrongLabel,
                          List<String> lost, Map<String, Integer> duplicated, long msPerAnswer) {
        public boolean nothingLost() {
            return lost.isEmpty();
        }

        /** {@code sent=60 acked=60 answered=60/60 lost=0 duplicates=0 ...}, for logs and assertion messages. */
        public String line() {
            return "sent=" + sent + " acked=" + acked + " answered=" + answered + "/" + expected + " lost=" + lost.size()
                    + " duplicates=" + duplicates + " unknown=" + unknown + " wrong_label=" + wrongLabel
                    + " ms_per_answer=" + msPerAnswer
                    + (lost.isEmpty() ? "" : " lost_ids=" + abbreviate(lost))
                    + (duplicated.isEmpty() ? "" : " duplicated_ids=" + abbreviate(duplicated.keySet().stream().toList()));
        }

        private static String abbreviate(List<String> ids) {
            return ids.size() <= 20 ? ids.toString() : ids.subList(0, 20) + "...(" + ids.size() + ")";
        }
    }

    private record Example(ObjectNode payload, String zone, String label) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String namespace;
    private final List<Example> examples;
    private final ResilientClient publisher;
    private final ResilientClient subscriber;
    private final Map<String, Sent> sent = new LinkedHashMap<>();
    private final Map<String, AtomicInteger> answers = new ConcurrentHashMap<>();
    private final Map<String, String> labels = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> byDevice = new ConcurrentHashMap<>();
    private final AtomicInteger unknown = new AtomicInteger();
    private final AtomicLong lastAnswerNanos = new AtomicLong(System.nanoTime());
    private final List<Long> firstAnswerNanos = java.util.Collections.synchronizedList(new ArrayList<>());
    private int next;

    /**
     * Connects a publisher and a results subscriber (client ids {@code <name>-pub}, {@code <name>-sub}).
     */
    public EventLedger(String url, String name, String namespace) throws MqttException, IOException {
        this.namespace = namespace;
        this.examples = examples();
        this.subscriber = new ResilientClient(url, name + "-sub", (topic, message) -> onResult(message.getPayload()));
        subscriber.subscribe(resultFilter());
        this.publisher = new ResilientClient(url, name + "-pub", (topic, message) -> { });
    }

    /** The greenhouse lines of the demo model's examples, or a few readings of the README's rule without them. */
    private static List<Example> examples() throws IOException {
        String dir = System.getProperty("phiedge.shared");
        Path file = dir == null ? null : Path.of(dir, "models", "demo", "examples.jsonl");
        List<Example> list = new ArrayList<>();
        if (file != null && Files.isRegularFile(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                JsonNode example = JSON.readTree(line);
                if (example.path("route").asText().equals("greenhouse-climate")) {
                    String zone = example.get("topic").asText().split("/")[1];
                    String label = example.path("reference").path("phi3-edge-demo.Q4_0.gguf").path("text")
                            .asText(example.path("expected").asText());
                    list.add(new Example((ObjectNode) example.get("payload"), zone, label));
                }
            }
        }
        if (list.isEmpty()) {
            Object[][] readings = {{"6", 21.0, 72, 36, 857, "normal"}, {"6", 44.0, 60, 40, 800, "critical"},
                {"3", 35.0, 60, 45, 900, "warning"}, {"1", 20.0, 50, 20, 700, "warning"}, {"9", 18.5, 60, 50, 600, "normal"}};
            for (Object[] r : readings) {
                ObjectNode payload = JSON.createObjectNode();
                payload.put("temperature", (Double) r[1]).put("humidity", (Integer) r[2])
                        .put("soil_moisture", (Integer) r[3]).put("co2", (Integer) r[4]);
                list.add(new Example(payload, (String) r[0], (String) r[5]));
            }
        }
        return List.copyOf(list);
    }

    /** {@code <namespace>/greenhouse/+/climate/assessment}. */
    public String resultFilter() {
        return namespace + "/greenhouse/+/climate/assessment";
    }

    /** {@code <namespace>/greenhouse/+/climate}: the agent's route filter. */
    public String eventFilter() {
        return namespace + "/greenhouse/+/climate";
    }

    private void onResult(byte[] payload) {
        JsonNode result;
        try {
            result = JSON.readTree(payload);
        } catch (IOException e) {
            unknown.incrementAndGet();
            return;
        }
        String id = result.path("event_id").asText("");
        boolean known;
        synchronized (sent) {
            known = sent.containsKey(id);
        }
        if (!known) {
            unknown.incrementAndGet();
            return;
        }
        byDevice.computeIfAbsent(result.path("device").asText("?"), k -> new AtomicInteger()).incrementAndGet();
        if (answers.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet() == 1) {
            firstAnswerNanos.add(System.nanoTime());
        }
        labels.putIfAbsent(id, result.path("label").asText(""));
        lastAnswerNanos.set(System.nanoTime());
    }

    /** Publishes the next {@code count} events, each in its example's zone; returns them. */
    public List<Sent> publish(int count) throws MqttException {
        return publish(count, null, true);
    }

    /**
     * Publishes the next {@code count} events in {@code zone} (null: the example's own), waiting for each
     * PUBACK; {@code expectAnswer} false marks events whose results the test expects never to arrive.
     */
    public List<Sent> publish(int count, String zone, boolean expectAnswer) throws MqttException {
        List<Sent> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Example example = examples.get(next % examples.size());
            String id = "e" + (++next);
            ObjectNode payload = JSON.createObjectNode();
            payload.put("id", id);
            payload.setAll(example.payload());
            String topic = namespace + "/greenhouse/" + (zone == null ? example.zone() : zone) + "/climate";
            byte[] bytes;
            try {
                bytes = JSON.writeValueAsBytes(payload);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            // Registered before sending: a fast answer must find its event.
            Sent pending = new Sent(id, topic, example.label(), false, expectAnswer);
            synchronized (sent) {
                sent.put(id, pending);
            }
            boolean acked;
            try {
                acked = publisher.publish(topic, bytes, 1, false) < 0x80;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MqttException(e);
            }
            Sent done = new Sent(id, topic, example.label(), acked, expectAnswer);
            synchronized (sent) {
                sent.put(id, done);
            }
            out.add(done);
        }
        return out;
    }

    /** Publishes one raw payload (not counted as an event of the ledger). */
    public void publishRaw(String topic, byte[] payload) throws MqttException, InterruptedException {
        publisher.publish(topic, payload, 1, false);
    }

    /** Expected events answered at least once so far. */
    public int answeredCount() {
        synchronized (sent) {
            return (int) sent.values().stream().filter(s -> s.expectAnswer() && answers.containsKey(s.id())).count();
        }
    }

    private int expectedCount() {
        synchronized (sent) {
            return (int) sent.values().stream().filter(Sent::expectAnswer).count();
        }
    }

    /** Waits until at least {@code n} expected events are answered; false when the time is up first. */
    public boolean awaitAnswered(int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (answeredCount() < n) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
        return true;
    }

    /**
     * Waits until every expected event is answered, or no new answer came for {@code stall}, or
     * {@code timeout} is up; then gives late duplicates {@code settle} to arrive, and returns the account.
     */
    public Summary awaitAll(Duration timeout, Duration stall, Duration settle) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lastAnswerNanos.set(Math.max(lastAnswerNanos.get(), System.nanoTime()));
        while (answeredCount() < expectedCount()) {
            long now = System.nanoTime();
            if (now > deadline || now - lastAnswerNanos.get() > stall.toNanos()) {
                break;
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
        TimeUnit.NANOSECONDS.sleep(settle.toNanos());
        return summary();
    }

    /** The account as it stands. */
    public Summary summary() {
        synchronized (sent) {
            int acked = 0;
            int expected = 0;
            int answered = 0;
            int duplicates = 0;
            int wrong = 0;
            List<String> lost = new ArrayList<>();
            Map<String, Integer> duplicated = new LinkedHashMap<>();
            for (Sent s : sent.values()) {
                acked += s.acked() ? 1 : 0;
                AtomicInteger count = answers.get(s.id());
                int n = count == null ? 0 : count.get();
                if (n > 1) {
                    duplicates += n - 1;
                    duplicated.put(s.id(), n);
                }
                if (!s.expectAnswer()) {
                    continue;
                }
                expected++;
                if (n == 0) {
                    lost.add(s.id());
                } else {
                    answered++;
                    if (!s.expectedLabel().equals(labels.get(s.id()))) {
                        wrong++;
                    }
                }
            }
            return new Summary(sent.size(), acked, expected, answered, duplicates, unknown.get(), wrong, List.copyOf(lost),
                    Map.copyOf(duplicated), medianGapMillis());
        }
    }

    private long medianGapMillis() {
        List<Long> times;
        synchronized (firstAnswerNanos) {
            times = new ArrayList<>(firstAnswerNanos);
        }
        if (times.size() < 2) {
            return 0;
        }
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < times.size(); i++) {
            gaps.add(times.get(i) - times.get(i - 1));
        }
        java.util.Collections.sort(gaps);
        return gaps.get(gaps.size() / 2) / 1_000_000;
    }

    /** Every event sent so far, in order. */
    public List<Sent> sent() {
        synchronized (sent) {
            return List.copyOf(sent.values());
        }
    }

    /** How many answers each id got (answered ids only). */
    public Map<String, Integer> answers() {
        Map<String, Integer> copy = new LinkedHashMap<>();
        answers.forEach((id, n) -> copy.put(id, n.get()));
        return copy;
    }

    /** Results received per answering device (the result's {@code device} field), duplicates included. */
    public Map<String, Integer> answersByDevice() {
        Map<String, Integer> copy = new java.util.TreeMap<>();
        byDevice.forEach((device, n) -> copy.put(device, n.get()));
        return copy;
    }

    /** Ids answered at least once. */
    public Set<String> answeredIds() {
        return Set.copyOf(answers.keySet());
    }

    @Override
    public void close() {
        publisher.close();
        subscriber.close();
    }
}
