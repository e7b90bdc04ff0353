package dev.phiedge.agent.reliability;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.testing.AgentProcess;
import dev.phiedge.agent.testing.AgentYaml;
import dev.phiedge.agent.testing.EventLedger;
import dev.phiedge.agent.testing.MosquittoBroker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Nothing lost", (h): three agents share the work through one MQTT v5 shared subscription
 * ({@code $share/fleet/<namespace>/greenhouse/+/climate}), each with its own device id, client id and
 * store. 300 events in two halves: the first 150 with no fault must be answered exactly once between
 * them (no loss, no duplicate); during the second 150 one agent is killed with SIGKILL mid-way and
 * started again: still nothing lost; duplicates are allowed there (QoS 1 redelivery to the restarted
 * member), counted and printed.
 */
class SharedSubscriptionFleetTest {

    private static final int AGENTS = 3;
    private static final int HALF = 150;
    /** The kill comes once this many events of the second half are answered. */
    private static final int ANSWERED_BEFORE_KILL = 40;

    @TempDir
    Path dir;

    @Test
    void threeAgentsOnASharedSubscriptionAnswerEveryEventOnceAndSurviveAKill() throws Exception {
        String ns = "rel-fleet";
        String filter = "$share/fleet/" + ns + "/greenhouse/+/climate";
        Map<String, Object> figures = Reliability.figures();
        List<AgentProcess> agents = new ArrayList<>();
        try (MosquittoBroker broker = MosquittoBroker.start();
             EventLedger ledger = new EventLedger(broker.url(), ns + "-ledger", ns)) {
            try {
                for (int i = 1; i <= AGENTS; i++) {
                    // Three JVMs on a small machine: one model thread each.
                    AgentYaml yaml = AgentYaml.agent(ns + "-" + i, broker.url()).greenhouseRoute(ns, filter).modelThreads(1)
                            .store(dir.resolve("store-" + i));
                    agents.add(AgentProcess.start(yaml.deviceId(), yaml.write(dir), broker.url(), yaml.agentTopic("status"), List.of()));
                }
                long started = System.nanoTime();
                for (AgentProcess agent : agents) {
                    agent.awaitOnline(Reliability.ONLINE);
                }
                figures.put("fleet_online_ms", Reliability.ms(started));

                // First half: no fault, exactly once.
                long t1 = System.nanoTime();
                ledger.publish(HALF);
                EventLedger.Summary first = ledger.awaitAll(Duration.ofSeconds(120), Reliability.STALL, Reliability.SETTLE);
                figures.put("first_half_ms", Reliability.ms(t1));
                figures.put("first_half", "answered=" + first.answered() + "/" + first.expected() + ",lost=" + first.lost().size()
                        + ",duplicates=" + first.duplicates());
                figures.put("by_device_first_half", ledger.answersByDevice().toString().replace(" ", ""));

                // Second half: kill one member mid-way, start it again.
                long t2 = System.nanoTime();
                ledger.publish(HALF);
                assertTrue(ledger.awaitAnswered(first.answered() + ANSWERED_BEFORE_KILL, Duration.ofSeconds(60)),
                        "the fleet answers the second half: " + ledger.summary().line());
                int atKill = ledger.answeredCount();
                figures.put("answered_at_kill", atKill);
                AgentProcess victim = agents.get(1);
                victim.kill9();
                assertTrue(atKill < 2 * HALF - 20, "the kill must come while events are still waiting (else this run tests "
                        + "nothing); answered at the kill: " + atKill + " of " + 2 * HALF);
                victim.restart();
                figures.put("victim_restart_online_ms", victim.awaitOnline(Reliability.ONLINE).toMillis());
                EventLedger.Summary all = ledger.awaitAll(Duration.ofSeconds(120), Reliability.STALL, Reliability.SETTLE);
                figures.put("second_half_ms", Reliability.ms(t2));
                figures.put("by_device", ledger.answersByDevice().toString().replace(" ", ""));
                String line = Reliability.report("shared-subscription-fleet", all, figures);
                if (!all.nothingLost()) {
                    agents.forEach(a -> System.out.println(a.describe()));
                }
                assertAll(
                        () -> assertEquals(List.of(), first.lost(), "first half, no fault: lost " + line),
                        () -> assertEquals(0, first.duplicates(), "first half, no fault: exactly once, yet duplicates: " + line),
                        () -> assertTrue(ledger.answersByDevice().keySet().size() >= AGENTS, "all three agents took a share: " + line),
                        () -> assertTrue(all.nothingLost(), "lost across a member's kill -9 and restart: " + line));
            } finally {
                agents.forEach(AgentProcess::close);
            }
        }
    }
}
