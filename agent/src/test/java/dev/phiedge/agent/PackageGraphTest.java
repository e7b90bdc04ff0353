package dev.phiedge.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent's packages depend on each other without a cycle, and {@code config} sits at the bottom: it uses
 * only the leaf packages {@code topic}, {@code template} and {@code tls}, which use nothing of the agent.
 * The graph is read from the main source tree: every {@code dev.phiedge.agent.<package>.<Type>} in an import
 * or in code (comments left out), so an import that closes a cycle fails here, naming the cycle and the files.
 */
class PackageGraphTest {

    private static final Path SOURCES = Path.of(System.getProperty("user.dir"), "src/main/java/dev/phiedge/agent");
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.phiedge\\.agent\\.([a-z][a-z0-9_]*)\\.[A-Z*]");
    private static final Set<String> LEAVES = Set.of("topic", "template", "tls");

    /** Package to the packages it uses, each with the files that use it. */
    private static final Map<String, Map<String, Set<String>>> GRAPH = new TreeMap<>();

    @BeforeAll
    static void readSources() throws IOException {
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path folder = SOURCES.relativize(file.getParent());
                if (folder.toString().isEmpty()) {
                    continue; // no classes at the root today; they would belong to no package of the graph
                }
                String from = folder.toString().replace(file.getFileSystem().getSeparator(), ".");
                Map<String, Set<String>> uses = GRAPH.computeIfAbsent(from, k -> new TreeMap<>());
                for (String line : Files.readAllLines(file)) {
                    String code = line.strip();
                    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) {
                        continue;
                    }
                    Matcher m = REFERENCE.matcher(code);
                    while (m.find()) {
                        if (!m.group(1).equals(from)) {
                            uses.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(file.getFileName().toString());
                        }
                    }
                }
            }
        }
    }

    @Test
    void theSourcesAreFound() {
        // so that a wrong path cannot make the other tests pass on an empty graph
        assertTrue(GRAPH.keySet().containsAll(List.of("config", "pipeline", "mqtt", "topic", "template", "tls")),
                GRAPH.keySet().toString());
        assertTrue(GRAPH.get("pipeline").containsKey("config"), GRAPH.get("pipeline").toString());
    }

    @Test
    void thePackagesFormNoCycle() {
        Map<String, Integer> state = new TreeMap<>(); // absent: not seen, 1: on the path, 2: done
        for (String start : GRAPH.keySet()) {
            List<String> cycle = cycleFrom(start, state, new ArrayList<>());
            if (cycle != null) {
                StringBuilder message = new StringBuilder("package cycle " + String.join(" -> ", cycle) + ":");
                for (int i = 0; i + 1 < cycle.size(); i++) {
                    message.append("\n  ").append(cycle.get(i)).append(" -> ").append(cycle.get(i + 1)).append(" in ")
                            .append(GRAPH.get(cycle.get(i)).get(cycle.get(i + 1)));
                }
                fail(message.toString());
            }
        }
    }

    /** Depth first; the packages of the first cycle met, its first package repeated at the end, or null. */
    private static List<String> cycleFrom(String pkg, Map<String, Integer> state, List<String> path) {
        Integer seen = state.get(pkg);
        if (seen != null && seen == 2) {
            return null;
        }
        if (seen != null) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(pkg), path.size()));
            cycle.add(pkg);
            return cycle;
        }
        state.put(pkg, 1);
        path.add(pkg);
        for (String next : GRAPH.getOrDefault(pkg, Map.of()).keySet()) {
            List<String> cycle = cycleFrom(next, state, path);
            if (cycle != null) {
                return cycle;
            }
        }
        path.removeLast();
        state.put(pkg, 2);
        return null;
    }

    @Test
    void configUsesOnlyTheLeafPackages() {
        Map<String, Set<String>> others = new TreeMap<>(GRAPH.get("config"));
        others.keySet().removeAll(LEAVES);
        assertEquals(Map.of(), others, "config may use only " + new TreeSet<>(LEAVES));
    }

    @Test
    void theLeafPackagesUseNothingOfTheAgent() {
        for (String leaf : LEAVES) {
            assertEquals(Map.of(), GRAPH.getOrDefault(leaf, Map.of()), leaf + " must use no other package of the agent");
        }
    }
}
