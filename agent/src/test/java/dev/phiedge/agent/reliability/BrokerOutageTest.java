package dev.phiedge.agent.reliability;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.testing.AgentProcess;
import dev.phiedge.agent.testing.AgentYaml;
import dev.phiedge.agent.testing.EventLedger;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.MqttTap;
import dev.phiedge.agent.testing.TcpProxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Nothing lost", (c): the broker (Mosquitto with persistence, saving every second) goes away while the
 * agent is working through a backlog and producing results.
 *
 * <ul>
 *   <li>Stopped with SIGTERM for about 10 s (it saves everything on the way out), then started again:
 *       nothing may be lost.</li>
 *   <li>Killed with SIGKILL (it saves nothing on the way out), then started again: the agent must
 *       resume (reconnect, answer the rest and new events). The broker may lose what it acknowledged
 *       since its last save; such losses are told apart and reported separately, not failed on. Who lost
 *       an event is read off the wire by an {@link MqttTap} between agent and broker: an event the
 *       broker never delivered to the agent (although it acknowledged it to the publisher), or a result
 *       the broker acknowledged to the agent and then never passed on, was lost by the broker; an event
 *       delivered to the agent whose result the broker never acknowledged was lost by the agent, and
 *       fails the test.</li>
 * </ul>
 */
class BrokerOutageTest {

    private static final int BACKLOG = 80;
    private static final int ANSWERED_BEFORE_FAULT = 10;
    /** Events published after the broker is back, which the agent must answer: it resumed. */
    private static final int AFTER_RESTART = 10;

    @TempDir
    Path dir;

    private enum Fault { SIGTERM, SIGKILL }

    /** Lost events sorted by who lost them. */
    private record Blame(List<String> brokerLostEvent, List<String> brokerLostResult, List<String> agentLost) {
        static Blame of(List<String> lost, MqttTap tap) {
            Set<String> delivered = tap.deliveredToClient();
            Set<String> acked = tap.ackedByBroker();
            List<String> event = new ArrayList<>();
            List<String> result = new ArrayList<>();
            List<String> agent = new ArrayList<>();
            for (String id : lost) {
                if (!delivered.contains(id)) {
                    event.add(id);
                } else if (acked.contains(id)) {
                    result.add(id);
                } else {
                    agent.add(id);
                }
            }
            return new Blame(event, result, agent);
        }
    }

    @Test
    void brokerStoppedWithSigtermForTenSecondsLosesNothing() throws Exception {
        Map<String, Object> figures = Reliability.figures();
        Outcome outcome = outage(Fault.SIGTERM, Duration.ofSeconds(10), figures);
        String line = Reliability.report("broker-sigterm", outcome.summary(), figures);
        assertAll(
                () -> assertEquals(outcome.summary().sent(), outcome.summary().acked(), "the broker acknowledged every event: " + line),
                () -> assertTrue(outcome.reconnected(), "the agent reconnects after the broker is back: " + line),
                () -> assertTrue(outcome.summary().nothingLost(), "events lost across a broker stop (SIGTERM) and start: " + line));
    }

    @Test
    void brokerKilledWithSigkillTheAgentResumesAndLosesNothingItself() throws Exception {
        Map<String, Object> figures = Reliability.figures();
        Outcome outcome = outage(Fault.SIGKILL, Duration.ofSeconds(3), figures);
        String line = Reliability.report("broker-sigkill", outcome.summary(), figures);
        assertAll(
                () -> assertEquals(outcome.summary().sent(), outcome.summary().acked(), "the broker acknowledged every event: " + line),
                () -> assertTrue(outcome.reconnected(), "the agent reconnects after the broker is back: " + line),
                () -> assertTrue(outcome.afterRestartAnswered(), "the agent resumed: the events published after the restart "
                        + "are answered: " + line),
                () -> assertEquals(List.of(), outcome.blame().agentLost(), "events delivered to the agent whose results the "
                        + "broker never acknowledged (the agent's loss, not the broker's): " + line));
    }

    private record Outcome(EventLedger.Summary summary, Blame blame, boolean afterRestartAnswered, boolean reconnected) {}

    private Outcome outage(Fault fault, Duration away, Map<String, Object> figures) throws Exception {
        String ns = "rel-broker-" + fault.name().toLowerCase();
        MqttTap tap = new MqttTap();
        try (MosquittoBroker broker = MosquittoBroker.start();
             TcpProxy proxy = TcpProxy.to(broker.port(), tap);
             EventLedger ledger = new EventLedger(broker.url(), ns + "-ledger", ns)) {
            AgentYaml yaml = AgentYaml.greenhouse(ns + "-agent", proxy.url(), ns).store(dir.resolve("store"));
            try (AgentProcess agent = AgentProcess.start(ns + "-agent", yaml.write(dir), broker.url(), yaml.agentTopic("status"),
                    List.of())) {
                figures.put("startup_ms", agent.awaitOnline(Reliability.ONLINE).toMillis());
                ledger.publish(BACKLOG);
                assertTrue(ledger.awaitAnswered(ANSWERED_BEFORE_FAULT, Duration.ofSeconds(60)),
                        "the agent answers before the fault: " + ledger.summary().line() + "\n" + agent.describe());
                long down;
                if (fault == Fault.SIGTERM) {
                    figures.put("answered_at_fault", ledger.answeredCount());
                    down = System.nanoTime();
                    broker.stop();
                } else {
                    // Saved first, so that the broker remembers what the agent took (acknowledged): a SIGKILL
                    // then cannot make it deliver those events again, and what the agent holds is its own.
                    broker.save();
                    figures.put("answered_at_fault", ledger.answeredCount());
                    down = System.nanoTime();
                    broker.kill();
                }
                int atFault = (int) figures.get("answered_at_fault");
                assertTrue(atFault < BACKLOG - 10, "the fault must come while events are still waiting (else this run "
                        + "tests nothing); answered at the fault: " + atFault + " of " + BACKLOG);
                figures.put("broker_exit", broker.exitCode());
                TimeUnit.NANOSECONDS.sleep(Math.max(0, away.toNanos() - (System.nanoTime() - down)));
                broker.startProcess();
                figures.put("broker_down_ms", Reliability.ms(down));
                long up = System.nanoTime();
                // The reconnect's 'online'; soft, so that an agent that never reconnects is measured, not stopped here.
                boolean reconnected = agent.tryAwaitOnline(Reliability.RECONNECT).isPresent();
                figures.put("agent_reconnect_ms", reconnected ? Reliability.ms(up) : "none_within_" + Reliability.RECONNECT.toSeconds() + "s");
                List<String> after = ledger.publish(AFTER_RESTART).stream().map(EventLedger.Sent::id).toList();
                EventLedger.Summary summary = ledger.awaitAll(Duration.ofSeconds(120), Reliability.STALL, Reliability.SETTLE);
                figures.put("recovery_ms", Reliability.ms(up));
                Blame blame = Blame.of(summary.lost(), tap);
                figures.put("lost_by_broker_events", blame.brokerLostEvent().size() + (blame.brokerLostEvent().isEmpty() ? ""
                        : blame.brokerLostEvent().toString()));
                figures.put("lost_by_broker_results", blame.brokerLostResult().size() + (blame.brokerLostResult().isEmpty() ? ""
                        : blame.brokerLostResult().toString()));
                figures.put("lost_by_agent", blame.agentLost().size());
                boolean afterAnswered = ledger.answeredIds().containsAll(after);
                figures.put("stale_alias_publishes", tap.staleAliasPublishes());
                if (!summary.nothingLost()) {
                    System.out.println(agent.describe() + "\n" + broker.logTail(30));
                }
                return new Outcome(summary, blame, afterAnswered, reconnected);
            }
        }
    }
}
