package dev.phiedge.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.runtime.testutil.PackageGraph;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The agent's packages depend on each other without a cycle, and {@code config} sits at the bottom: it uses
 * only the leaf packages {@code topic}, {@code template} and {@code tls}, which use nothing of the agent.
 * The graph is read from the main source tree ({@link PackageGraph}), so an import that closes a cycle fails
 * here, naming the cycle and the files.
 */
class PackageGraphTest {

    private static final PackageGraph GRAPH = PackageGraph.read(
            Path.of(System.getProperty("user.dir"), "src/main/java/dev/phiedge/agent"), "dev.phiedge.agent");
    private static final Set<String> LEAVES = Set.of("topic", "template", "tls");

    @Test
    void theSourcesAreFound() {
        // so that a wrong path cannot make the other tests pass on an empty graph
        assertTrue(GRAPH.packages().containsAll(List.of("config", "pipeline", "mqtt", "topic", "template", "tls")),
                GRAPH.packages().toString());
        assertTrue(GRAPH.usesOf("pipeline").containsKey("config"), GRAPH.usesOf("pipeline").toString());
    }

    @Test
    void thePackagesFormNoCycle() {
        assertNull(GRAPH.firstCycle());
    }

    @Test
    void configUsesOnlyTheLeafPackages() {
        Map<String, Set<String>> others = new TreeMap<>(GRAPH.usesOf("config"));
        others.keySet().removeAll(LEAVES);
        assertEquals(Map.of(), others, "config may use only " + new TreeSet<>(LEAVES));
    }

    @Test
    void theLeafPackagesUseNothingOfTheAgent() {
        for (String leaf : LEAVES) {
            assertEquals(Map.of(), GRAPH.usesOf(leaf), leaf + " must use no other package of the agent");
        }
    }
}
