package dev.phiedge.agent.config;

import dev.phiedge.agent.topic.TopicFilter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * The optional {@code gpio} section: which Pi4J provider drives the pins, the digital inputs that become
 * events, the digital outputs, and the rules that set outputs from classification results.
 *
 * <pre>
 * gpio:
 *   provider: gpiod        # gpiod (default, Pi 5), linuxfs, mock
 *   chip: gpiochip0        # optional
 *   inputs:
 *     - {name: pir-front, pin: 23, pull: down, debounce_ms: 50, topic: gpio/pir-front, edge: rising}
 *   outputs:
 *     - {name: alarm-led, pin: 17, initial: low}
 *   rules:
 *     - {route: greenhouse-climate, label: critical, output: alarm-led, state: high, for_s: 5}
 * </pre>
 *
 * Parsing reports every mistake as a {@link ConfigProblem} with the file, line and dotted key (for
 * example {@code gpio.inputs[0].pull}), like the rest of the configuration.
 */
public record GpioConfig(Provider provider, Optional<String> chip, List<Input> inputs, List<Output> outputs,
                         List<Rule> rules) {

    public static final int MAX_PIN = 511;
    public static final Duration DEFAULT_DEBOUNCE = Duration.ofMillis(50);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");
    private static final Pattern CHIP = Pattern.compile("gpiochip[0-9]+");

    public GpioConfig {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        rules = List.copyOf(rules);
    }

    /** Which Pi4J plugin drives the pins. */
    public enum Provider {
        /** The character device ({@code /dev/gpiochipN}) through libgpiod: Raspberry Pi 5 and current kernels. */
        GPIOD,
        /** The legacy sysfs interface ({@code /sys/class/gpio}). */
        LINUXFS,
        /** Pi4J's in-memory test provider: no hardware, states are set by code. */
        MOCK;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum Pull { OFF, UP, DOWN }

    /** Which input transitions become events. */
    public enum Edge {
        RISING, FALLING, BOTH;

        public boolean accepts(Level newLevel) {
            return this == BOTH || (this == RISING) == (newLevel == Level.HIGH);
        }
    }

    public enum Level {
        LOW, HIGH;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A digital input whose debounced transitions are published as events.
     *
     * @param debounce how long a new level must hold before it counts (zero: every change counts)
     * @param topic    where the event JSON is published; routes subscribe to it like to any sensor
     */
    public record Input(String name, int pin, Pull pull, Duration debounce, String topic, Edge edge) {}

    /** A digital output, driven to {@code initial} at start and on shutdown. */
    public record Output(String name, int pin, Level initial) {}

    /**
     * When route {@code route} answers {@code label}, drive {@code output} to {@code state}; after
     * {@code hold} (if set) it returns to the output's initial level. A repeated match restarts the hold.
     */
    public record Rule(String route, String label, String output, Level state, Optional<Duration> hold) {}

    public Optional<Output> output(String name) {
        return outputs.stream().filter(o -> o.name().equals(name)).findFirst();
    }

    /**
     * Parses the section and, when {@code routes} is given, checks each rule against them (the route
     * exists, is a classify route, and has the label). Problems are added to {@code problems}.
     *
     * @return the configuration, or empty when any problem was found in the section
     */
    public static Optional<GpioConfig> parse(Path file, Node node, List<RouteConfig> routes, List<ConfigProblem> problems) {
        int before = problems.size();
        GpioConfig config = new Reader(file, problems).config(node, routes);
        return problems.size() == before ? Optional.of(config) : Optional.empty();
    }

    /** Parses the section alone (no route cross-check); throws with every problem found. */
    public static GpioConfig parse(Path file, Node node) throws ConfigException {
        List<ConfigProblem> problems = new ArrayList<>();
        Optional<GpioConfig> config = parse(file, node, null, problems);
        if (config.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config.get();
    }

    /** Reads YAML nodes key by key; each mistake is recorded with its line and dotted key. */
    private static final class Reader {
        private final Path file;
        private final List<ConfigProblem> problems;
        /** The node each parsed mapping came from, to place "missing key" problems at the mapping itself. */
        private final Map<Map<String, Node>, Node> owner = new IdentityHashMap<>();

        Reader(Path file, List<ConfigProblem> problems) {
            this.file = file;
            this.problems = problems;
        }

        GpioConfig config(Node node, List<RouteConfig> routes) {
            Map<String, Node> top = mapping(node, "gpio", Set.of("provider", "chip", "inputs", "outputs", "rules"));
            if (top == null) {
                return new GpioConfig(Provider.GPIOD, Optional.empty(), List.of(), List.of(), List.of());
            }
            Provider provider = choice(top, "gpio", "provider", Provider.class).orElse(Provider.GPIOD);
            Optional<String> chip = text(top, "gpio", "chip", false);
            chip.filter(c -> !CHIP.matcher(c).matches()).ifPresent(c ->
                    problem(top.get("chip"), "gpio.chip", "expected a chip name like gpiochip0, got '" + c + "'"));

            Map<String, Node> names = new HashMap<>();
            Map<Integer, String> pins = new HashMap<>();
            List<Input> inputs = new ArrayList<>();
            List<Node> inputNodes = list(top, "gpio", "inputs");
            for (int i = 0; i < inputNodes.size(); i++) {
                String key = "gpio.inputs[" + i + "]";
                Map<String, Node> m = mapping(inputNodes.get(i), key,
                        Set.of("name", "pin", "pull", "debounce_ms", "topic", "edge"));
                if (m == null) {
                    continue;
                }
                String name = name(m, key, names);
                int pin = pin(m, key, name, pins);
                Pull pull = choice(m, key, "pull", Pull.class).orElse(Pull.OFF);
                long debounceMs = integer(m, key, "debounce_ms", DEFAULT_DEBOUNCE.toMillis(), 0, 10_000);
                String topic = text(m, key, "topic", false).orElse("gpio/" + name);
                String topicProblem = TopicFilter.topicNameProblem(topic);
                if (topicProblem != null) {
                    problem(m.getOrDefault("topic", inputNodes.get(i)), key + ".topic", topicProblem);
                }
                Edge edge = choice(m, key, "edge", Edge.class).orElse(Edge.BOTH);
                inputs.add(new Input(name, pin, pull, Duration.ofMillis(debounceMs), topic, edge));
            }

            List<Output> outputs = new ArrayList<>();
            List<Node> outputNodes = list(top, "gpio", "outputs");
            for (int i = 0; i < outputNodes.size(); i++) {
                String key = "gpio.outputs[" + i + "]";
                Map<String, Node> m = mapping(outputNodes.get(i), key, Set.of("name", "pin", "initial"));
                if (m == null) {
                    continue;
                }
                String name = name(m, key, names);
                int pin = pin(m, key, name, pins);
                Level initial = choice(m, key, "initial", Level.class).orElse(Level.LOW);
                outputs.add(new Output(name, pin, initial));
            }

            List<Rule> rules = new ArrayList<>();
            List<Node> ruleNodes = list(top, "gpio", "rules");
            for (int i = 0; i < ruleNodes.size(); i++) {
                String key = "gpio.rules[" + i + "]";
                Node at = ruleNodes.get(i);
                Map<String, Node> m = mapping(at, key, Set.of("route", "label", "output", "state", "for_s"));
                if (m == null) {
                    continue;
                }
                String route = text(m, key, "route", true).orElse("");
                String label = text(m, key, "label", true).orElse("");
                String output = text(m, key, "output", true).orElse("");
                if (!output.isEmpty() && outputs.stream().noneMatch(o -> o.name().equals(output))) {
                    problem(m.get("output"), key + ".output", "no output named '" + output + "'; " + (outputs.isEmpty()
                            ? "gpio.outputs lists none" : "outputs: " + String.join(", ", outputs.stream().map(Output::name).toList())));
                }
                Level state = choice(m, key, "state", Level.class).orElse(Level.HIGH);
                Optional<Duration> hold = seconds(m, key, "for_s");
                if (routes != null && !route.isEmpty()) {
                    checkRule(routes, route, label, m, key);
                }
                rules.add(new Rule(route, label, output, state, hold));
            }
            return new GpioConfig(provider, chip, inputs, outputs, rules);
        }

        private void checkRule(List<RouteConfig> routes, String route, String label, Map<String, Node> m, String key) {
            Optional<RouteConfig> match = routes.stream().filter(r -> r.name().equals(route)).findFirst();
            if (match.isEmpty()) {
                problem(m.get("route"), key + ".route", "no route named '" + route + "'; routes: "
                        + String.join(", ", routes.stream().map(RouteConfig::name).toList()));
            } else if (match.get().task() != Task.CLASSIFY) {
                problem(m.get("route"), key + ".route", "route '" + route + "' summarizes; rules need a classify route");
            } else if (!label.isEmpty() && !match.get().labels().contains(label)) {
                problem(m.get("label"), key + ".label", "route '" + route + "' has no label '" + label + "'; labels: "
                        + String.join(", ", match.get().labels()));
            }
        }

        private String name(Map<String, Node> m, String key, Map<String, Node> seen) {
            String name = text(m, key, "name", true).orElse("");
            if (name.isEmpty()) {
                return name;
            }
            if (!NAME.matcher(name).matches()) {
                problem(m.get("name"), key + ".name", "use letters, digits, '-', '_' or '.', got '" + name + "'");
            } else if (seen.putIfAbsent(name, m.get("name")) != null) {
                problem(m.get("name"), key + ".name", "'" + name + "' is already the name of another input or output");
            }
            return name;
        }

        private int pin(Map<String, Node> m, String key, String name, Map<Integer, String> seen) {
            if (!m.containsKey("pin")) {
                problem(owner.get(m), key + ".pin", "missing (required)");
                return -1;
            }
            int pin = (int) integer(m, key, "pin", -1, 0, MAX_PIN);
            if (pin >= 0) {
                String other = seen.putIfAbsent(pin, name);
                if (other != null) {
                    problem(m.get("pin"), key + ".pin", "pin " + pin + " is already used by '" + other + "'");
                }
            }
            return pin;
        }

        /** A mapping with only the allowed keys; null (after reporting) when the node is not a mapping. */
        private Map<String, Node> mapping(Node node, String key, Set<String> allowed) {
            if (!(node instanceof MappingNode mapping)) {
                problem(node, key, "expected a mapping of keys, got " + describe(node));
                return null;
            }
            Map<String, Node> out = new LinkedHashMap<>();
            for (NodeTuple tuple : mapping.getValue()) {
                if (!(tuple.getKeyNode() instanceof ScalarNode k)) {
                    problem(tuple.getKeyNode(), key, "keys must be plain names");
                } else if (!allowed.contains(k.getValue())) {
                    problem(k, key + "." + k.getValue(), "unknown key; known keys here: " + String.join(", ", new TreeSet<>(allowed)));
                } else if (out.containsKey(k.getValue())) {
                    problem(k, key + "." + k.getValue(), "duplicate key");
                } else if (!isNull(tuple.getValueNode())) {
                    out.put(k.getValue(), tuple.getValueNode());
                }
            }
            owner.put(out, node);
            return out;
        }

        private List<Node> list(Map<String, Node> m, String key, String name) {
            Node node = m.get(name);
            if (node == null) {
                return List.of();
            }
            if (node instanceof SequenceNode sequence) {
                return sequence.getValue();
            }
            problem(node, key + "." + name, "expected a list, got " + describe(node));
            return List.of();
        }

        private Optional<String> text(Map<String, Node> m, String key, String name, boolean required) {
            Node node = m.get(name);
            if (node == null) {
                if (required) {
                    problem(owner.get(m), key + "." + name, "missing (required)");
                }
                return Optional.empty();
            }
            if (node instanceof ScalarNode scalar && !scalar.getValue().isBlank()) {
                return Optional.of(scalar.getValue());
            }
            problem(node, key + "." + name, "expected text, got " + describe(node));
            return Optional.empty();
        }

        private <E extends Enum<E>> Optional<E> choice(Map<String, Node> m, String key, String name, Class<E> type) {
            Optional<String> value = text(m, key, name, false);
            if (value.isEmpty()) {
                return Optional.empty();
            }
            for (E constant : type.getEnumConstants()) {
                if (constant.name().equalsIgnoreCase(value.get())) {
                    return Optional.of(constant);
                }
            }
            List<String> allowed = new ArrayList<>();
            for (E constant : type.getEnumConstants()) {
                allowed.add(constant.name().toLowerCase(Locale.ROOT));
            }
            problem(m.get(name), key + "." + name, "expected one of " + String.join(", ", allowed) + ", got '" + value.get() + "'");
            return Optional.empty();
        }

        private long integer(Map<String, Node> m, String key, String name, long fallback, long min, long max) {
            Node node = m.get(name);
            if (node == null) {
                return fallback;
            }
            if (node instanceof ScalarNode scalar && scalar.getTag().equals(Tag.INT)) {
                try {
                    long value = Long.parseLong(scalar.getValue().replace("_", ""));
                    if (value >= min && value <= max) {
                        return value;
                    }
                    problem(node, key + "." + name, "must be between " + min + " and " + max + ", got " + value);
                    return fallback;
                } catch (NumberFormatException e) {
                    // falls through to the type message
                }
            }
            problem(node, key + "." + name, "expected a whole number, got " + describe(node));
            return fallback;
        }

        private Optional<Duration> seconds(Map<String, Node> m, String key, String name) {
            Node node = m.get(name);
            if (node == null) {
                return Optional.empty();
            }
            if (node instanceof ScalarNode scalar && (scalar.getTag().equals(Tag.INT) || scalar.getTag().equals(Tag.FLOAT))) {
                try {
                    double value = Double.parseDouble(scalar.getValue().replace("_", ""));
                    if (value > 0 && value <= 86_400) {
                        return Optional.of(Duration.ofNanos(Math.round(value * 1e9)));
                    }
                    problem(node, key + "." + name, "must be more than 0 and at most 86400 seconds, got " + scalar.getValue());
                    return Optional.empty();
                } catch (NumberFormatException e) {
                    // falls through to the type message
                }
            }
            problem(node, key + "." + name, "expected a number of seconds, got " + describe(node));
            return Optional.empty();
        }

        private void problem(Node at, String key, String message) {
            int line = at == null || at.getStartMark() == null ? 0 : at.getStartMark().getLine() + 1;
            problems.add(new ConfigProblem(file, line, key, message));
        }

        private static boolean isNull(Node node) {
            return node instanceof ScalarNode scalar && scalar.getTag().equals(Tag.NULL);
        }

        private static String describe(Node node) {
            if (node instanceof MappingNode) {
                return "a mapping";
            }
            if (node instanceof SequenceNode) {
                return "a list";
            }
            if (node instanceof ScalarNode scalar) {
                Tag tag = scalar.getTag();
                String kind = tag.equals(Tag.INT) ? "a number" : tag.equals(Tag.FLOAT) ? "a decimal number"
                        : tag.equals(Tag.BOOL) ? "a boolean" : tag.equals(Tag.NULL) ? "nothing" : "text";
                return kind + " '" + scalar.getValue() + "'";
            }
            return "nothing";
        }
    }
}
