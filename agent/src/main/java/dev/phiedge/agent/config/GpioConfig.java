package dev.phiedge.agent.config;

import dev.phiedge.agent.topic.TopicFilter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
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

    /**
     * Reads the section with {@link YamlSection}, the reader of the whole configuration file; each mistake
     * is recorded with its line and dotted key.
     */
    private static final class Reader {
        private final Path file;
        private final List<ConfigProblem> problems;

        Reader(Path file, List<ConfigProblem> problems) {
            this.file = file;
            this.problems = problems;
        }

        GpioConfig config(Node node, List<RouteConfig> routes) {
            YamlSection top = mapping(node, "gpio", "provider", "chip", "inputs", "outputs", "rules");
            if (top == null) {
                return new GpioConfig(Provider.GPIOD, Optional.empty(), List.of(), List.of(), List.of());
            }
            Provider provider = choice(top, "provider", Provider.class).orElse(Provider.GPIOD);
            Optional<String> chip = text(top, "chip", false);
            chip.filter(c -> !CHIP.matcher(c).matches()).ifPresent(c ->
                    top.problem("chip", "expected a chip name like gpiochip0, got '" + c + "'"));

            Set<String> names = new HashSet<>();
            Map<Integer, String> pins = new HashMap<>();
            List<Input> inputs = new ArrayList<>();
            List<Node> inputNodes = top.list("inputs", false).orElse(List.of());
            for (int i = 0; i < inputNodes.size(); i++) {
                YamlSection m = mapping(inputNodes.get(i), "gpio.inputs[" + i + "]",
                        "name", "pin", "pull", "debounce_ms", "topic", "edge");
                if (m == null) {
                    continue;
                }
                String name = name(m, names);
                int pin = pin(m, name, pins);
                Pull pull = choice(m, "pull", Pull.class).orElse(Pull.OFF);
                long debounceMs = m.integer("debounce_ms", DEFAULT_DEBOUNCE.toMillis(), 0, 10_000);
                String topic = text(m, "topic", false).orElse("gpio/" + name);
                String topicProblem = TopicFilter.topicNameProblem(topic);
                if (topicProblem != null) {
                    m.problem("topic", topicProblem); // at the input itself when the topic is the default
                }
                Edge edge = choice(m, "edge", Edge.class).orElse(Edge.BOTH);
                inputs.add(new Input(name, pin, pull, Duration.ofMillis(debounceMs), topic, edge));
            }

            List<Output> outputs = new ArrayList<>();
            List<Node> outputNodes = top.list("outputs", false).orElse(List.of());
            for (int i = 0; i < outputNodes.size(); i++) {
                YamlSection m = mapping(outputNodes.get(i), "gpio.outputs[" + i + "]", "name", "pin", "initial");
                if (m == null) {
                    continue;
                }
                String name = name(m, names);
                int pin = pin(m, name, pins);
                Level initial = choice(m, "initial", Level.class).orElse(Level.LOW);
                outputs.add(new Output(name, pin, initial));
            }

            List<Rule> rules = new ArrayList<>();
            List<Node> ruleNodes = top.list("rules", false).orElse(List.of());
            for (int i = 0; i < ruleNodes.size(); i++) {
                YamlSection m = mapping(ruleNodes.get(i), "gpio.rules[" + i + "]",
                        "route", "label", "output", "state", "for_s");
                if (m == null) {
                    continue;
                }
                String route = text(m, "route", true).orElse("");
                String label = text(m, "label", true).orElse("");
                String output = text(m, "output", true).orElse("");
                if (!output.isEmpty() && outputs.stream().noneMatch(o -> o.name().equals(output))) {
                    m.problem("output", "no output named '" + output + "'; " + (outputs.isEmpty()
                            ? "gpio.outputs lists none" : "outputs: " + String.join(", ", outputs.stream().map(Output::name).toList())));
                }
                Level state = choice(m, "state", Level.class).orElse(Level.HIGH);
                Optional<Duration> hold = seconds(m, "for_s");
                if (routes != null && !route.isEmpty()) {
                    checkRule(routes, route, label, m);
                }
                rules.add(new Rule(route, label, output, state, hold));
            }
            return new GpioConfig(provider, chip, inputs, outputs, rules);
        }

        private static void checkRule(List<RouteConfig> routes, String route, String label, YamlSection m) {
            Optional<RouteConfig> match = routes.stream().filter(r -> r.name().equals(route)).findFirst();
            if (match.isEmpty()) {
                m.problem("route", "no route named '" + route + "'; routes: "
                        + String.join(", ", routes.stream().map(RouteConfig::name).toList()));
            } else if (match.get().task() != Task.CLASSIFY) {
                m.problem("route", "route '" + route + "' summarizes; rules need a classify route");
            } else if (!label.isEmpty() && !match.get().labels().contains(label)) {
                m.problem("label", "route '" + route + "' has no label '" + label + "'; labels: "
                        + String.join(", ", match.get().labels()));
            }
        }

        private String name(YamlSection m, Set<String> seen) {
            String name = text(m, "name", true).orElse("");
            if (name.isEmpty()) {
                return name;
            }
            if (!NAME.matcher(name).matches()) {
                m.problem("name", "use letters, digits, '-', '_' or '.', got '" + name + "'");
            } else if (!seen.add(name)) {
                m.problem("name", "'" + name + "' is already the name of another input or output");
            }
            return name;
        }

        private int pin(YamlSection m, String name, Map<Integer, String> seen) {
            if (!m.has("pin")) {
                missing(m, "pin");
                return -1;
            }
            int pin = (int) m.integer("pin", -1, 0, MAX_PIN);
            if (pin >= 0) {
                String other = seen.putIfAbsent(pin, name);
                if (other != null) {
                    m.problem("pin", "pin " + pin + " is already used by '" + other + "'");
                }
            }
            return pin;
        }

        /**
         * The mapping at {@code node} as a section whose keys must be among {@code allowed} (a key that is not
         * is reported at once, before the values); null (after reporting) when the node is not a mapping.
         */
        private YamlSection mapping(Node node, String key, String... allowed) {
            if (!(node instanceof MappingNode mapping)) {
                problems.add(new ConfigProblem(file, YamlSection.line(node), key,
                        "expected a mapping of keys, got " + YamlSection.describe(node)));
                return null;
            }
            YamlSection section = new YamlSection(file, key, mapping, problems);
            for (String name : allowed) {
                section.has(name); // marks it known
            }
            section.reportUnknownKeys();
            return section;
        }

        /**
         * A required key that is absent or empty ({@code pin: ~}), placed at the mapping: the line of an empty
         * value is the line of whatever follows it.
         */
        private void missing(YamlSection m, String key) {
            problems.add(new ConfigProblem(file, m.line(), m.qualify(key), "missing (required)"));
        }

        /** Like {@link YamlSection#string}, and blank text is a mistake too. */
        private Optional<String> text(YamlSection m, String key, boolean required) {
            Optional<String> value = m.string(key, false);
            if (value.isEmpty() && required && !m.has(key)) {
                missing(m, key);
            }
            if (value.isPresent() && value.get().isBlank()) {
                m.problem(key, "expected text, got " + YamlSection.describe(m.raw(key).orElseThrow()));
                return Optional.empty();
            }
            return value;
        }

        private <E extends Enum<E>> Optional<E> choice(YamlSection m, String key, Class<E> type) {
            Optional<String> value = text(m, key, false);
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
            m.problem(key, "expected one of " + String.join(", ", allowed) + ", got '" + value.get() + "'");
            return Optional.empty();
        }

        private static Optional<Duration> seconds(YamlSection m, String key) {
            Optional<Node> raw = m.raw(key);
            if (raw.isEmpty()) {
                return Optional.empty();
            }
            if (raw.get() instanceof ScalarNode scalar && (scalar.getTag().equals(Tag.INT) || scalar.getTag().equals(Tag.FLOAT))) {
                try {
                    double value = Double.parseDouble(scalar.getValue().replace("_", ""));
                    if (value > 0 && value <= 86_400) {
                        return Optional.of(Duration.ofNanos(Math.round(value * 1e9)));
                    }
                    m.problem(key, "must be more than 0 and at most 86400 seconds, got " + scalar.getValue());
                    return Optional.empty();
                } catch (NumberFormatException e) {
                    // falls through to the type message
                }
            }
            m.problem(key, "expected a number of seconds, got " + YamlSection.describe(raw.get()));
            return Optional.empty();
        }
    }
}
