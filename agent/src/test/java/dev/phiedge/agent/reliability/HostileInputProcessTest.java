package dev.phiedge.agent.reliability;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.testing.AgentProcess;
import dev.phiedge.agent.testing.AgentYaml;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.TestClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Nothing lost", (f): payloads built to exhaust a small device, sent to the real agent running as a
 * child JVM with {@code -Xmx128m -XX:+ExitOnOutOfMemoryError} (an OutOfMemoryError ends the process, as
 * it should on a device under systemd, instead of leaving it half alive). Each must be refused on the
 * errors topic with its own reason, and the agent must stay alive and answer the next normal event:
 * <ul>
 *   <li>the "80-byte" event (78 bytes exactly) whose temperature is {@code 1e10000000} (a BigDecimal with ten million digits
 *       once written out): {@code bad_number};</li>
 *   <li>a 1 MB string in a numeric field (under max_payload_bytes, 4 MiB here): {@code wrong_type}, since
 *       the route types it {@code {soil_moisture:number}};</li>
 *   <li>a 20 MB string, over max_payload_bytes: {@code too_large};</li>
 *   <li>a number of 5,000 digits: {@code bad_number}.</li>
 * </ul>
 * When a case kills the agent, the test records the exit status, starts it again and goes on, so one
 * run shows every case's outcome.
 */
class HostileInputProcessTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_PAYLOAD = 4 << 20;
    private static final Duration REPORT_WAIT = Duration.ofSeconds(15);
    private static final Duration ANSWER_WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private record Case(String name, byte[] payload, String reason) {}

    /** What happened to one case. */
    private record Outcome(String name, String expected, String reported, boolean aliveAfter, String exit,
                           boolean answeredNext) {
        boolean ok() {
            return expected.equals(reported) && aliveAfter && answeredNext;
        }

        @Override
        public String toString() {
            return name + ":reported=" + reported + ",alive=" + aliveAfter + (exit.isEmpty() ? "" : ",exit=" + exit)
                    + ",answered_next=" + answeredNext;
        }
    }

    private static List<Case> cases() {
        String hugeExponent = "{\"id\":\"x\",\"temperature\":1e10000000,\"humidity\":50,\"soil_moisture\":30,\"co2\":400}";
        String oneMegabyte = "{\"id\":\"long-field\",\"temperature\":21.0,\"humidity\":50,\"soil_moisture\":\""
                + "w".repeat(1 << 20) + "\",\"co2\":400}";
        byte[] twentyMegabytes = new byte[20 << 20];
        Arrays.fill(twentyMegabytes, (byte) 'x');
        twentyMegabytes[0] = '"';
        twentyMegabytes[twentyMegabytes.length - 1] = '"';
        String digits = "{\"id\":\"digits\",\"temperature\":21.0,\"humidity\":50,\"soil_moisture\":30,\"co2\":"
                + "9".repeat(5000) + "}";
        return List.of(
                new Case("exponent_1e10000000", hugeExponent.getBytes(StandardCharsets.UTF_8), "bad_number"),
                // soil_moisture is typed {soil_moisture:number} in the route: a string there is refused by its
                // type before its length matters (an untyped field is bounded by limits.max_field_chars:
                // field_too_long, PromptTemplateTest).
                new Case("string_field_1MB", oneMegabyte.getBytes(StandardCharsets.UTF_8), "wrong_type"),
                new Case("string_20MB", twentyMegabytes, "too_large"),
                new Case("number_5000_digits", digits.getBytes(StandardCharsets.UTF_8), "bad_number"));
    }

    @Test
    void hostilePayloadsAreRefusedAndTheAgentStaysAliveUnder128Megabytes() throws Exception {
        String ns = "rel-hostile";
        String device = ns + "-agent";
        String topic = ns + "/greenhouse/4/climate";
        String answers = ns + "/greenhouse/4/climate/assessment";
        Map<String, Object> figures = Reliability.figures();
        List<Outcome> outcomes = new ArrayList<>();
        try (MosquittoBroker broker = MosquittoBroker.start();
             TestClient client = new TestClient(broker.url(), ns + "-client")) {
            AgentYaml yaml = AgentYaml.greenhouse(device, broker.url(), ns).maxPayloadBytes(MAX_PAYLOAD)
                    .store(dir.resolve("store"));
            client.subscribe(yaml.agentTopic("errors"));
            client.subscribe(answers);
            try (AgentProcess agent = AgentProcess.start(device, yaml.write(dir), broker.url(), yaml.agentTopic("status"),
                    List.of("-Xmx128m", "-XX:+ExitOnOutOfMemoryError"))) {
                figures.put("startup_ms", agent.awaitOnline(Reliability.ONLINE).toMillis());
                int restarts = 0;
                int n = 0;
                for (Case c : cases()) {
                    client.drain(yaml.agentTopic("errors"));
                    client.drain(answers);
                    long sent = System.nanoTime();
                    client.publish(topic, c.payload(), 1);
                    String reported = awaitReason(client, yaml.agentTopic("errors"), agent);
                    long reportMs = Reliability.ms(sent);
                    String exit = "";
                    boolean alive = agent.isAlive();
                    if (!alive) {
                        exit = String.valueOf(agent.exitValue());
                        System.out.println("agent died on " + c.name() + "\n" + agent.describe());
                        agent.restart();
                        restarts++;
                        agent.awaitOnline(Reliability.ONLINE);
                    }
                    // The next normal event is answered.
                    String id = "after-" + (++n);
                    client.publish(topic, ("{\"id\":\"" + id + "\",\"temperature\":21.0,\"humidity\":72,\"soil_moisture\":36,"
                            + "\"co2\":857}").getBytes(StandardCharsets.UTF_8), 1);
                    boolean answered = awaitAnswer(client, answers, id, agent);
                    outcomes.add(new Outcome(c.name(), c.reason(), reported, alive && agent.isAlive(), exit, answered));
                    figures.put(c.name() + "_report_ms", reportMs);
                }
                figures.put("restarts", restarts);
                figures.put("outcomes", outcomes.toString().replace(" ", ""));
                String line = Reliability.report("hostile-input", null, figures);
                assertAll(outcomes.stream().map(o -> () -> assertTrue(o.ok(), "expected " + o.expected() + ", the agent alive "
                        + "and answering the next event; got " + o + ": " + line)));
            }
        }
    }

    /** The reason of the next report on the errors topic, "none" when there is none in time, "died" when the agent exits. */
    private static String awaitReason(TestClient client, String errors, AgentProcess agent) throws Exception {
        long deadline = System.nanoTime() + REPORT_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            List<TestClient.Received> got = client.drain(errors);
            if (!got.isEmpty()) {
                JsonNode report = JSON.readTree(got.getFirst().payload());
                return report.path("reason").asText("?");
            }
            if (!agent.isAlive()) {
                return "none(died)";
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        return "none";
    }

    private static boolean awaitAnswer(TestClient client, String topic, String id, AgentProcess agent) throws Exception {
        long deadline = System.nanoTime() + ANSWER_WAIT.toNanos();
        while (System.nanoTime() < deadline && agent.isAlive()) {
            for (TestClient.Received r : client.drain(topic)) {
                if (JSON.readTree(r.payload()).path("event_id").asText().equals(id)) {
                    return true;
                }
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        return false;
    }
}
