package dev.phiedge.agent.reliability;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.testing.AgentProcess;
import dev.phiedge.agent.testing.AgentYaml;
import dev.phiedge.agent.testing.EventLedger;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.MqttTap;
import dev.phiedge.agent.testing.TcpProxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Nothing lost", (d): the network between agent and broker goes dead (a {@link TcpProxy} black hole:
 * the sockets stay open, no byte moves either way) while the agent works through a backlog of 150
 * QoS 1 events; the cut lasts 20 s, ten times the agent's 2 s keepalive, so both sides notice. Then
 * the link comes back as it was (the held bytes flow on), or the connections are dropped (reset). The
 * publisher and the results subscriber talk to the broker directly: only the agent is cut off.
 * Nothing may be lost.
 */
class NetworkCutTest {

    private static final int BACKLOG = 150;
    private static final int ANSWERED_BEFORE_CUT = 15;
    private static final Duration CUT = Duration.ofSeconds(20); // the figure; ten times the keepalive
    private static final int KEEPALIVE_S = 2;

    @TempDir
    Path dir;

    /** How the cut ends. */
    enum End { RESUME, DROP }

    @ParameterizedTest
    @EnumSource(End.class)
    void aTwentySecondCutWithABacklogLosesNothing(End end) throws Exception {
        String ns = "rel-cut-" + end.name().toLowerCase();
        Map<String, Object> figures = Reliability.figures();
        figures.put("cut_ms", CUT.toMillis());
        figures.put("keepalive_s", KEEPALIVE_S);
        MqttTap tap = new MqttTap();
        try (MosquittoBroker broker = MosquittoBroker.start();
             TcpProxy proxy = TcpProxy.to(broker.port(), tap);
             EventLedger ledger = new EventLedger(broker.url(), ns + "-ledger", ns)) {
            AgentYaml yaml = AgentYaml.greenhouse(ns + "-agent", proxy.url(), ns).keepalive(KEEPALIVE_S)
                    .store(dir.resolve("store"));
            try (AgentProcess agent = AgentProcess.start(ns + "-agent", yaml.write(dir), broker.url(), yaml.agentTopic("status"),
                    List.of())) {
                figures.put("startup_ms", agent.awaitOnline(Reliability.ONLINE).toMillis());
                ledger.publish(BACKLOG);
                assertTrue(ledger.awaitAnswered(ANSWERED_BEFORE_CUT, Duration.ofSeconds(60)),
                        "the agent answers before the cut: " + ledger.summary().line() + "\n" + agent.describe());
                int atCut = ledger.answeredCount();
                figures.put("answered_at_cut", atCut);
                assertTrue(atCut < BACKLOG - 20, "the cut must come while events are still waiting (else this run tests "
                        + "nothing); answered at the cut: " + atCut + " of " + BACKLOG);
                int connectionsBefore = proxy.acceptedConnections();
                long cut = System.nanoTime();
                proxy.blackhole();
                TimeUnit.MILLISECONDS.sleep(CUT.toMillis());
                // The agent noticed when it tried new connections; the broker when it fired the Last Will.
                int attempts = proxy.acceptedConnections() - connectionsBefore;
                boolean willFired = agent.sawOffline();
                figures.put("answered_during_cut", ledger.answeredCount() - atCut);
                figures.put("agent_reconnect_attempts_during_cut", attempts);
                figures.put("broker_fired_will", willFired);
                if (end == End.DROP) {
                    proxy.dropConnections();
                }
                proxy.resume();
                long healed = System.nanoTime();
                // Soft: an agent that never reconnects is measured (what it lost), not stopped here.
                boolean reconnected = agent.tryAwaitOnline(Reliability.RECONNECT).isPresent();
                figures.put("reconnect_after_heal_ms", reconnected ? Reliability.ms(healed) : "none_within_" + Reliability.RECONNECT.toSeconds() + "s");
                figures.put("cut_to_online_ms", reconnected ? Reliability.ms(cut) : "n/a");
                EventLedger.Summary summary = ledger.awaitAll(Duration.ofSeconds(120), Reliability.STALL, Reliability.SETTLE);
                figures.put("recovery_ms", Reliability.ms(healed));
                Set<String> delivered = tap.deliveredToClient();
                figures.put("lost_never_delivered_to_agent", summary.lost().stream().filter(id -> !delivered.contains(id)).count());
                figures.put("stale_alias_publishes", tap.staleAliasPublishes());
                String line = Reliability.report("network-cut-" + end.name().toLowerCase(), summary, figures);
                if (!summary.nothingLost()) {
                    System.out.println(agent.describe() + "\n" + broker.logTail(30));
                }
                assertAll(
                        () -> assertTrue(reconnected, "the agent reconnects within " + Reliability.RECONNECT.toSeconds()
                                + " s of the link coming back: " + line),
                        () -> assertTrue(attempts > 0 || willFired, "the cut outlasted the keepalive, yet neither side "
                                + "noticed (no reconnect attempt, no Last Will): " + line),
                        () -> assertTrue(summary.nothingLost(), "events lost across a " + CUT.toSeconds() + " s network cut ("
                                + end + "): " + line));
            }
        }
    }
}
