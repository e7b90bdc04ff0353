package dev.phiedge.agent.reliability;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.testing.AgentProcess;
import dev.phiedge.agent.testing.AgentYaml;
import dev.phiedge.agent.testing.EventLedger;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.MqttTap;
import dev.phiedge.agent.testing.TcpProxy;
import dev.phiedge.agent.testing.TestClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Nothing lost", (e): the broker's ACL refuses one result topic (mosquitto acl_file; over MQTT v5 it
 * answers the agent's QoS 1 PUBLISH with PUBACK reason 0x87, not authorized). That failure must not be
 * silent: the agent logs it, counts it in its stats message, and reports it on its errors topic
 * ({@code edge-agent/<device>/errors}, reason {@code publish_refused}, a detail naming the topic and the
 * reason code); the results on the allowed topics still all arrive.
 */
class PublishRefusedTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ALLOWED = 6;
    private static final int DENIED = 3;

    @TempDir
    Path dir;

    @Test
    void aResultTopicRefusedByTheBrokerIsLoggedCountedAndReported() throws Exception {
        String ns = "rel-acl";
        String device = ns + "-agent";
        String deniedTopic = ns + "/greenhouse/7/climate/assessment";
        Map<String, Object> figures = Reliability.figures();
        MqttTap tap = new MqttTap();
        MosquittoBroker.Options options = MosquittoBroker.Options.plain().withAcl(MosquittoBroker.allowAllExcept(deniedTopic));
        try (MosquittoBroker broker = MosquittoBroker.start(options);
             TcpProxy proxy = TcpProxy.to(broker.port(), tap);
             EventLedger ledger = new EventLedger(broker.url(), ns + "-ledger", ns);
             TestClient observer = new TestClient(broker.url(), ns + "-observer")) {
            AgentYaml yaml = AgentYaml.greenhouse(device, proxy.url(), ns).store(dir.resolve("store"));
            observer.subscribe(yaml.agentTopic("errors"));
            observer.subscribe(yaml.agentTopic("stats"));
            try (AgentProcess agent = AgentProcess.start(device, yaml.write(dir), broker.url(), yaml.agentTopic("status"),
                    List.of())) {
                figures.put("startup_ms", agent.awaitOnline(Reliability.ONLINE).toMillis());
                // Allowed, refused, allowed: the refusals sit between results that must arrive.
                ledger.publish(ALLOWED / 2, null, true);
                List<String> denied = ledger.publish(DENIED, "7", false).stream().map(EventLedger.Sent::id).toList();
                ledger.publish(ALLOWED - ALLOWED / 2, null, true);
                EventLedger.Summary summary = ledger.awaitAll(Duration.ofSeconds(60), Reliability.STALL, Reliability.SETTLE);

                // The broker really refused them (else this test proves nothing about the agent).
                List<MqttTap.Refusal> refusals = tap.refusals();
                figures.put("broker_refusals", refusals.stream().map(r -> r.topic().substring(ns.length()) + ":0x"
                        + Integer.toHexString(r.reasonCode())).toList().toString().replace(" ", ""));

                // The errors topic: one publish_refused report per refused result.
                List<JsonNode> reports = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (System.nanoTime() < deadline && reports.size() < DENIED) {
                    for (TestClient.Received r : observer.drain(yaml.agentTopic("errors"))) {
                        JsonNode report = JSON.readTree(r.payload());
                        if (report.path("reason").asText().equals("publish_refused")) {
                            reports.add(report);
                        }
                    }
                    Thread.sleep(100);
                }
                figures.put("publish_refused_reports", reports.size());
                // The stats message: some count with "refused" in its name reaches the number refused.
                long statsSeen = 0;
                long refusedInStats = -1;
                deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (System.nanoTime() < deadline && refusedInStats < DENIED) {
                    for (TestClient.Received r : observer.drain(yaml.agentTopic("stats"))) {
                        statsSeen++;
                        refusedInStats = Math.max(refusedInStats, refusedCount(JSON.readTree(r.payload())));
                    }
                    Thread.sleep(100);
                }
                figures.put("stats_messages", statsSeen);
                figures.put("refused_in_stats", refusedInStats);
                // The log: a line naming the topic and the refusal.
                List<String> logLines = agent.logText().lines().filter(l -> l.contains(deniedTopic) && mentionsRefusal(l)).toList();
                figures.put("log_lines", logLines.size());
                String line = Reliability.report("publish-refused", summary, figures);
                long refusedCounted = refusedInStats;
                long statsMessages = statsSeen;

                assertEquals(DENIED, refusals.stream().filter(r -> r.topic().equals(deniedTopic) && r.reasonCode() == 0x87).count(),
                        "mosquitto refused each result on " + deniedTopic + " with PUBACK 0x87 (else the ACL is not in force): " + line);
                Set<String> reportedIds = reports.stream().map(r -> r.path("event_id").asText(""))
                        .filter(id -> !id.isEmpty()).collect(Collectors.toSet());
                assertAll(
                        () -> assertTrue(summary.nothingLost(), "the allowed results all arrive: " + line),
                        () -> assertEquals(DENIED, reports.size(), "one publish_refused report per refused result on "
                                + yaml.agentTopic("errors") + ": " + line),
                        () -> assertTrue(reports.stream().allMatch(r -> r.path("detail").asText().contains(deniedTopic)
                                && mentionsCode(r.path("detail").asText())), "each report's detail names the topic and the "
                                + "reason code (0x87): " + reports),
                        () -> assertTrue(reportedIds.isEmpty() || reportedIds.equals(Set.copyOf(denied)),
                                "reports name the refused events " + denied + ": " + reports),
                        () -> assertTrue(refusedCounted >= DENIED, "the stats message counts the refusals (a field named "
                                + "*refused*, " + statsMessages + " stats messages seen): " + line),
                        () -> assertTrue(!logLines.isEmpty(), "the agent logs the refusal with the topic\n" + agent.describe()));
            }
        }
    }

    /** The largest number under a field whose name contains "refused", anywhere in the stats message. */
    private static long refusedCount(JsonNode node) {
        long best = -1;
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            JsonNode value = field.getValue();
            if (field.getKey().toLowerCase(Locale.ROOT).contains("refused") && value.isNumber()) {
                best = Math.max(best, value.asLong());
            }
            if (value.isObject()) {
                best = Math.max(best, refusedCount(value));
            }
        }
        return best;
    }

    private static boolean mentionsCode(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        return t.contains("0x87") || t.matches(".*\\b135\\b.*");
    }

    private static boolean mentionsRefusal(String line) {
        String t = line.toLowerCase(Locale.ROOT);
        return mentionsCode(line) || t.contains("refused") || t.contains("not authorized") || t.contains("not authorised");
    }
}
