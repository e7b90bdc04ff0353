package dev.phiedge.runtime;

import dev.phiedge.runtime.testutil.PackageGraph;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime's packages are layered without a cycle, as docs/development.md describes them: {@code gguf}
 * at the bottom; the weight formats ({@code tensor}) on it; the matrix products ({@code matmul}) on
 * those; the kernel planner ({@code plan}) on the products; the model, generation and the command line
 * above. Read from the main source tree, so an import that breaks the layering fails here with the files.
 */
class PackageGraphTest {
    private static final PackageGraph GRAPH = PackageGraph.read(
            Path.of(System.getProperty("user.dir"), "src/main/java/dev/phiedge/runtime"), "dev.phiedge.runtime");

    @Test
    void theSourcesAreFound() {
        // so that a wrong path cannot make the other tests pass on an empty graph
        assertTrue(GRAPH.packages().containsAll(List.of("gguf", "tensor", "matmul", "plan", "model", "generate", "cli")),
                GRAPH.packages().toString());
        assertTrue(GRAPH.usesOf("model").containsKey("matmul"), GRAPH.usesOf("model").toString());
    }

    @Test
    void thePackagesFormNoCycle() {
        assertNull(GRAPH.firstCycle());
    }

    @Test
    void theLowerLayersUseOnlyWhatIsBelowThem() {
        Map<String, Set<String>> allowed = Map.of(
                "gguf", Set.of(),
                "tensor", Set.of("gguf"),
                "matmul", Set.of("gguf", "tensor"),
                "plan", Set.of("gguf", "tensor", "matmul"));
        allowed.forEach((pkg, below) -> {
            Map<String, Set<String>> others = new TreeMap<>(GRAPH.usesOf(pkg));
            others.keySet().removeAll(below);
            assertEquals(Map.of(), others, pkg + " may use only " + below);
        });
    }
}
