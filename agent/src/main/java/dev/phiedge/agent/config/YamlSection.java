package dev.phiedge.agent.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * One YAML mapping of the configuration, read key by key. Every read records the key as known, so
 * {@link #reportUnknownKeys()} can name each misspelt key with its line; every type mistake becomes a
 * {@link ConfigProblem} instead of an exception, so that one run reports all of them.
 */
final class YamlSection {

    private final Path file;
    private final String path;
    private final Node node;
    private final Map<String, NodeTuple> entries = new LinkedHashMap<>();
    private final Set<String> known = new TreeSet<>();
    private final List<ConfigProblem> problems;

    YamlSection(Path file, String path, MappingNode node, List<ConfigProblem> problems) {
        this.file = file;
        this.path = path;
        this.node = node;
        this.problems = problems;
        for (NodeTuple tuple : node.getValue()) {
            if (tuple.getKeyNode() instanceof ScalarNode key) {
                if (entries.putIfAbsent(key.getValue(), tuple) != null) {
                    problem(key, qualify(key.getValue()), "duplicate key");
                }
            } else {
                problem(tuple.getKeyNode(), path, "keys must be plain names");
            }
        }
    }

    String path() {
        return path;
    }

    int line() {
        return line(node);
    }

    /** The dotted name of a key of this section, for messages. */
    String qualify(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    void problem(Node at, String key, String message) {
        problems.add(new ConfigProblem(file, line(at), key, message));
    }

    /** A problem about a key of this section, placed at its value, or at the section when absent. */
    void problem(String key, String message) {
        NodeTuple tuple = entries.get(key);
        problem(tuple != null ? tuple.getValueNode() : node, qualify(key), message);
    }

    boolean has(String key) {
        known.add(key);
        NodeTuple tuple = entries.get(key);
        return tuple != null && !isNull(tuple.getValueNode());
    }

    Optional<Node> raw(String key) {
        return has(key) ? Optional.of(entries.get(key).getValueNode()) : Optional.empty();
    }

    int lineOf(String key) {
        NodeTuple tuple = entries.get(key);
        return tuple != null ? line(tuple.getValueNode()) : line(node);
    }

    Optional<String> string(String key, boolean required) {
        Optional<Node> value = raw(key);
        if (value.isEmpty()) {
            if (required) {
                problem(key, "missing (required)");
            }
            return Optional.empty();
        }
        if (value.get() instanceof ScalarNode scalar) {
            return Optional.of(scalar.getValue());
        }
        problem(key, "expected text, got " + describe(value.get()));
        return Optional.empty();
    }

    long integer(String key, long defaultValue, long min, long max) {
        Optional<Node> value = raw(key);
        if (value.isEmpty()) {
            return defaultValue;
        }
        if (value.get() instanceof ScalarNode scalar && scalar.getTag().equals(Tag.INT)) {
            try {
                long parsed = Long.parseLong(scalar.getValue().replace("_", ""));
                if (parsed >= min && parsed <= max) {
                    return parsed;
                }
                problem(key, "must be between " + min + " and " + max + ", got " + parsed);
            } catch (NumberFormatException e) {
                problem(key, "expected a whole number in decimal, got '" + scalar.getValue() + "'");
            }
            return defaultValue;
        }
        problem(key, "expected a whole number, got " + describe(value.get()));
        return defaultValue;
    }

    boolean bool(String key, boolean defaultValue) {
        Optional<Node> value = raw(key);
        if (value.isEmpty()) {
            return defaultValue;
        }
        if (value.get() instanceof ScalarNode scalar && scalar.getTag().equals(Tag.BOOL)) {
            return Boolean.parseBoolean(normalBool(scalar.getValue()));
        }
        problem(key, "expected true or false, got " + describe(value.get()));
        return defaultValue;
    }

    Optional<YamlSection> section(String key, boolean required) {
        Optional<Node> value = raw(key);
        if (value.isEmpty()) {
            if (required) {
                problem(key, "missing (required)");
            }
            return Optional.empty();
        }
        if (value.get() instanceof MappingNode mapping) {
            return Optional.of(new YamlSection(file, qualify(key), mapping, problems));
        }
        problem(key, "expected a mapping of keys, got " + describe(value.get()));
        return Optional.empty();
    }

    Optional<List<Node>> list(String key, boolean required) {
        Optional<Node> value = raw(key);
        if (value.isEmpty()) {
            if (required) {
                problem(key, "missing (required)");
            }
            return Optional.empty();
        }
        if (value.get() instanceof SequenceNode sequence) {
            return Optional.of(sequence.getValue());
        }
        problem(key, "expected a list, got " + describe(value.get()));
        return Optional.empty();
    }

    /** A list of text items, each checked; null when absent or wrong. */
    Optional<List<String>> strings(String key, boolean required) {
        Optional<List<Node>> items = list(key, required);
        if (items.isEmpty()) {
            return Optional.empty();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < items.get().size(); i++) {
            Node item = items.get().get(i);
            if (item instanceof ScalarNode scalar && !isNull(scalar)) {
                out.add(scalar.getValue());
            } else {
                problem(item, qualify(key) + "[" + i + "]", "expected text, got " + describe(item));
            }
        }
        return Optional.of(out);
    }

    /**
     * Every entry, key to value node (a null value too), in the order written, all counted as known: for a
     * mapping whose keys are data, such as a route's {@code when}.
     */
    Map<String, Node> values() {
        Map<String, Node> out = new LinkedHashMap<>();
        for (Map.Entry<String, NodeTuple> entry : entries.entrySet()) {
            known.add(entry.getKey());
            out.put(entry.getKey(), entry.getValue().getValueNode());
        }
        return out;
    }

    void reportUnknownKeys() {
        for (Map.Entry<String, NodeTuple> entry : entries.entrySet()) {
            if (!known.contains(entry.getKey())) {
                problem(entry.getValue().getKeyNode(), qualify(entry.getKey()),
                        "unknown key; known keys here: " + String.join(", ", known));
            }
        }
    }

    static int line(Node node) {
        return node.getStartMark() == null ? 0 : node.getStartMark().getLine() + 1;
    }

    static boolean isNull(Node node) {
        return node instanceof ScalarNode scalar && scalar.getTag().equals(Tag.NULL);
    }

    static String describe(Node node) {
        if (node instanceof MappingNode) {
            return "a mapping";
        }
        if (node instanceof SequenceNode) {
            return "a list";
        }
        ScalarNode scalar = (ScalarNode) node;
        Tag tag = scalar.getTag();
        String kind = tag.equals(Tag.INT) ? "a number" : tag.equals(Tag.FLOAT) ? "a decimal number"
                : tag.equals(Tag.BOOL) ? "a boolean" : tag.equals(Tag.NULL) ? "nothing" : "text";
        return kind + " '" + scalar.getValue() + "'";
    }

    static String normalBool(String text) {
        String lower = text.toLowerCase(java.util.Locale.ROOT);
        return switch (lower) {
            case "yes", "on", "y" -> "true";
            default -> lower;
        };
    }
}
