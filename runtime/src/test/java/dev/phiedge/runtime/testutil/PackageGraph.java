package dev.phiedge.runtime.testutil;

import java.io.IOException;
import java.io.UncheckedIOException;
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

/**
 * Which packages of one source tree use which, read from the sources: every {@code <base>.<package>.<Type>}
 * in an import or in code (comment lines left out), per package the packages it uses and the files that
 * use them. The package-graph tests of the runtime and the agent hold it to their layering rules.
 */
public final class PackageGraph {
    /** Package to the packages it uses, each with the files that use it. */
    private final Map<String, Map<String, Set<String>>> uses = new TreeMap<>();

    /** The graph of the packages under {@code root}, the folder of package {@code base}. */
    public static PackageGraph read(Path root, String base) {
        Pattern reference = Pattern.compile("\\b" + Pattern.quote(base) + "\\.([a-z][a-z0-9_]*)\\.[A-Z*]");
        PackageGraph graph = new PackageGraph();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path folder = root.relativize(file.getParent());
                if (folder.toString().isEmpty()) continue; // a class at the root belongs to no package of the graph
                String from = folder.toString().replace(file.getFileSystem().getSeparator(), ".");
                Map<String, Set<String>> out = graph.uses.computeIfAbsent(from, k -> new TreeMap<>());
                for (String line : Files.readAllLines(file)) {
                    String code = line.strip();
                    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) continue;
                    Matcher m = reference.matcher(code);
                    while (m.find()) {
                        if (!m.group(1).equals(from)) out.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(file.getFileName().toString());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return graph;
    }

    /** The packages found. */
    public Set<String> packages() {
        return uses.keySet();
    }

    /** The packages {@code pkg} uses, each with the files that use it (empty for an unknown package). */
    public Map<String, Set<String>> usesOf(String pkg) {
        return uses.getOrDefault(pkg, Map.of());
    }

    /**
     * The first cycle found, described with the files behind each edge ("a -> b -> a:" and a line per
     * edge), or null when the packages form none.
     */
    public String firstCycle() {
        Map<String, Integer> state = new TreeMap<>(); // absent: not seen, 1: on the path, 2: done
        for (String start : uses.keySet()) {
            List<String> cycle = cycleFrom(start, state, new ArrayList<>());
            if (cycle != null) {
                StringBuilder message = new StringBuilder("package cycle " + String.join(" -> ", cycle) + ":");
                for (int i = 0; i + 1 < cycle.size(); i++) {
                    message.append("\n  ").append(cycle.get(i)).append(" -> ").append(cycle.get(i + 1)).append(" in ")
                            .append(usesOf(cycle.get(i)).get(cycle.get(i + 1)));
                }
                return message.toString();
            }
        }
        return null;
    }

    /** Depth first; the packages of the first cycle met, its first package repeated at the end, or null. */
    private List<String> cycleFrom(String pkg, Map<String, Integer> state, List<String> path) {
        Integer seen = state.get(pkg);
        if (seen != null && seen == 2) return null;
        if (seen != null) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(pkg), path.size()));
            cycle.add(pkg);
            return cycle;
        }
        state.put(pkg, 1);
        path.add(pkg);
        for (String next : usesOf(pkg).keySet()) {
            List<String> cycle = cycleFrom(next, state, path);
            if (cycle != null) return cycle;
        }
        path.removeLast();
        state.put(pkg, 2);
        return null;
    }
}
