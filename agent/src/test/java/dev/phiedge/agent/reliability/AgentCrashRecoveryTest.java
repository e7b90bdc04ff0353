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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Nothing lost", (a) and (b): the agent, a child JVM with the demo model, has a backlog of 60 QoS 1
 * events when it is killed with SIGKILL, or stopped with SIGTERM as systemctl stop does; started again
 * with the same configuration (and store), it answers all 60. Duplicates are allowed (QoS 1: an event
 * whose result was sent but not yet acknowledged may be answered twice), counted and printed.
 */
class AgentCrashRecoveryTest {

    private static final int BACKLOG = 60;
    /** The fault comes once this many events are answered: the agent is mid-backlog, with the rest waiting. */
    private static final int ANSWERED_BEFORE_FAULT = 5;

    @TempDir
    Path dir;

    /** What the fault did: the exit status, and how long it took. */
    private record Fault(int exitCode, long millis) {}

    @Test
    void killNineWithABacklogThenRestartAnswersEveryEvent() throws Exception {
        Map<String, Object> figures = Reliability.figures();
        EventLedger.Summary summary = backlogThenFault("kill9", agent -> {
            long t = System.nanoTime();
            int code = agent.kill9();
            return new Fault(code, Reliability.ms(t));
        }, figures);
        String line = Reliability.report("agent-kill9", summary, figures);
        assertTrue(summary.nothingLost(), "events lost across kill -9 and restart: " + line);
    }

    @Test
    void sigtermWithABacklogExitsZeroAndTheRestartAnswersEveryEvent() throws Exception {
        Map<String, Object> figures = Reliability.figures();
        EventLedger.Summary summary = backlogThenFault("sigterm", agent -> {
            long t = System.nanoTime();
            int code = agent.sigterm(Duration.ofSeconds(30)); // systemd's default TimeoutStopSec is 90 s
            return new Fault(code, Reliability.ms(t));
        }, figures);
        String line = Reliability.report("agent-sigterm", summary, figures);
        assertAll(
                () -> assertEquals(0, (int) figures.get("exit_code"), "exit status after SIGTERM (143: died of the signal; "
                        + "-1: still running after 30 s): " + line),
                () -> assertTrue(summary.nothingLost(), "events lost across SIGTERM and restart: " + line));
    }

    @FunctionalInterface
    private interface FaultAction {
        Fault apply(AgentProcess agent) throws Exception;
    }

    private EventLedger.Summary backlogThenFault(String name, FaultAction fault, Map<String, Object> figures) throws Exception {
        String ns = "rel-" + name;
        try (MosquittoBroker broker = MosquittoBroker.start();
             EventLedger ledger = new EventLedger(broker.url(), ns + "-ledger", ns)) {
            AgentYaml yaml = AgentYaml.greenhouse(ns + "-agent", broker.url(), ns).store(dir.resolve("store"));
            Path config = yaml.write(dir);
            try (AgentProcess agent = AgentProcess.start(ns + "-agent", config, broker.url(), yaml.agentTopic("status"), List.of())) {
                figures.put("startup_ms", agent.awaitOnline(Reliability.ONLINE).toMillis());
                long sent = System.nanoTime();
                ledger.publish(BACKLOG);
                figures.put("publish_ms", Reliability.ms(sent));
                assertTrue(ledger.awaitAnswered(ANSWERED_BEFORE_FAULT, Duration.ofSeconds(60)),
                        "the agent answers before the fault: " + ledger.summary().line() + "\n" + agent.describe());
                figures.put("ms_per_event_before_fault", Reliability.ms(sent) / Math.max(1, ledger.answeredCount()));
                int atFault = ledger.answeredCount();
                figures.put("answered_at_fault", atFault);
                Fault done = fault.apply(agent);
                assertTrue(atFault < BACKLOG - 10, "the fault must come while events are still waiting (else this run "
                        + "tests nothing); answered at the fault: " + atFault + " of " + BACKLOG);
                figures.put("exit_code", done.exitCode());
                figures.put("stop_ms", done.millis());
                figures.put("answered_after_stop", ledger.answeredCount());
                long restarted = System.nanoTime();
                agent.restart();
                figures.put("restart_online_ms", agent.awaitOnline(Reliability.ONLINE).toMillis());
                EventLedger.Summary summary = ledger.awaitAll(Duration.ofSeconds(120), Reliability.STALL, Reliability.SETTLE);
                figures.put("recovery_ms", Reliability.ms(restarted));
                if (!summary.nothingLost()) {
                    System.out.println(agent.describe());
                }
                return summary;
            }
        }
    }
}
