package dev.phiedge.agent.reliability;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.testing.AgentProcess;
import dev.phiedge.agent.testing.AgentYaml;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.TestClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Nothing lost", (g): two agents whose routes answer each other, A subscribing X and publishing on Y,
 * B subscribing Y and publishing on X, both with prompts any JSON renders ({@code {$payload}}), so every
 * result is a valid event for the other. After one seed event on X, the traffic must stay tiny: A
 * answers the seed once, B recognises A's result as another agent's result and drops it, counting it in
 * its stats as dropped {@code loop}. Without that, the two would ping-pong for ever at model speed.
 */
class FeedbackLoopTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WATCH = Duration.ofSeconds(8);

    @TempDir
    Path dir;

    private static String route(String name, String subscribe, String publish) {
        return """
                  - name: %s
                    subscribe: "%s"
                    task: classify
                    labels: [normal, warning, critical]
                    system: "%s"
                    prompt: "Zone 1: {$payload}"
                    publish: "%s"
                """.formatted(name, subscribe, AgentYaml.demoRouteValue("system"), publish);
    }

    /** The highest dropped.loop count in the stats received so far on {@code topic}; -1 without one. */
    private static long loopDrops(TestClient observer, String topic) throws Exception {
        long most = -1;
        for (TestClient.Received r : observer.drain(topic)) {
            JsonNode stats = JSON.readTree(r.payload());
            most = Math.max(most, stats.path("dropped").path("loop").asLong(-1));
        }
        return most;
    }

    @Test
    void twoAgentsAnsweringEachOtherDoNotPingPong() throws Exception {
        String ns = "rel-loop";
        String x = ns + "/x";
        String y = ns + "/y";
        Map<String, Object> figures = Reliability.figures();
        try (MosquittoBroker broker = MosquittoBroker.start();
             TestClient observer = new TestClient(broker.url(), ns + "-observer")) {
            AgentYaml a = AgentYaml.agent(ns + "-a", broker.url()).route(route("x-to-y", x, y)).modelThreads(1)
                    .store(dir.resolve("store-a"));
            AgentYaml b = AgentYaml.agent(ns + "-b", broker.url()).route(route("y-to-x", y, x)).modelThreads(1)
                    .store(dir.resolve("store-b"));
            observer.subscribe(x);
            observer.subscribe(y);
            observer.subscribe("edge-agent/+/stats");
            try (AgentProcess agentA = AgentProcess.start(a.deviceId(), a.write(dir), broker.url(), a.agentTopic("status"), List.of());
                 AgentProcess agentB = AgentProcess.start(b.deviceId(), b.write(dir), broker.url(), b.agentTopic("status"), List.of())) {
                figures.put("startup_a_ms", agentA.awaitOnline(Reliability.ONLINE).toMillis());
                figures.put("startup_b_ms", agentB.awaitOnline(Reliability.ONLINE).toMillis());
                observer.drain(x);
                observer.drain(y);
                observer.publish(x, "{\"id\":\"seed\",\"temperature\":21.0,\"humidity\":72,\"soil_moisture\":36,\"co2\":857}");
                TimeUnit.MILLISECONDS.sleep(WATCH.toMillis());
                int onX = observer.drain(x).size();
                int onY = observer.drain(y).size();
                // The latest stats of each agent (published every second).
                TimeUnit.MILLISECONDS.sleep(1500);
                long loopA = loopDrops(observer, a.agentTopic("stats"));
                long loopB = loopDrops(observer, b.agentTopic("stats"));
                figures.put("watch_ms", WATCH.toMillis());
                figures.put("messages_on_x", onX + "(seed+answers)");
                figures.put("messages_on_y", onY);
                figures.put("dropped_loop_a", loopA);
                figures.put("dropped_loop_b", loopB);
                String line = Reliability.report("feedback-loop", null, figures);
                assertAll(
                        () -> assertTrue(onY >= 1, "A answers the seed (else nothing here was tested): " + line
                                + "\n" + agentA.describe()),
                        () -> assertTrue(onX <= 2, "X carries the seed and at most one answer; it carried " + onX + ": " + line),
                        () -> assertTrue(onY <= 2, "Y carries at most A's answer to the seed (and a QoS 1 repeat); it carried "
                                + onY + ": " + line),
                        () -> assertTrue(loopB >= 1, "B drops A's result and counts it as dropped 'loop' in its stats: " + line),
                        () -> assertTrue(agentA.isAlive() && agentB.isAlive(), "both agents still run"));
            }
        }
    }
}
