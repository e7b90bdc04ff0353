package dev.phiedge.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.template.PromptTemplate;
import dev.phiedge.agent.topic.TopicFilter;
import java.io.StringReader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

public class GpioConfigTest {

    private static final Path FILE = Path.of("agent.yaml");

    /** The {@code gpio:} value of a YAML document, as the configuration loader hands it over. */
    public static Node gpioNode(String yaml) {
        MappingNode root = (MappingNode) new Yaml().compose(new StringReader(yaml));
        return root.getValue().stream().filter(t -> t.getKeyNode() instanceof org.yaml.snakeyaml.nodes.ScalarNode s
                && s.getValue().equals("gpio")).findFirst().orElseThrow().getValueNode();
    }

    private static List<String> problems(String yaml, List<RouteConfig> routes) {
        List<ConfigProblem> problems = new ArrayList<>();
        Optional<GpioConfig> config = GpioConfig.parse(FILE, gpioNode(yaml), routes, problems);
        assertEquals(problems.isEmpty(), config.isPresent());
        return problems.stream().map(ConfigProblem::toString).toList();
    }

    static RouteConfig route(String name, Task task, List<String> labels) throws Exception {
        return new RouteConfig(name, TopicFilter.of("greenhouse/+/climate"), task, labels, 32, "system",
                PromptTemplate.parse("T {temperature}"), PromptTemplate.parse("out/{$topic[1]}"), 1, false,
                QueueConfig.defaults());
    }

    @Test
    void parsesTheDocumentedExample() throws ConfigException {
        GpioConfig config = GpioConfig.parse(FILE, gpioNode("""
                gpio:
                  provider: gpiod
                  chip: gpiochip0
                  inputs:
                    - {name: pir-front, pin: 23, pull: down, debounce_ms: 50, topic: gpio/pir-front, edge: rising}
                    - {name: door, pin: 24}
                  outputs:
                    - {name: alarm-led, pin: 17, initial: low}
                  rules:
                    - {route: greenhouse-climate, label: critical, output: alarm-led, state: high, for_s: 5}
                    - {route: greenhouse-climate, label: warning, output: alarm-led, for_s: 0.25}
                """));
        assertEquals(GpioConfig.Provider.GPIOD, config.provider());
        assertEquals(Optional.of("gpiochip0"), config.chip());
        assertEquals(new GpioConfig.Input("pir-front", 23, GpioConfig.Pull.DOWN, Duration.ofMillis(50), "gpio/pir-front",
                GpioConfig.Edge.RISING), config.inputs().get(0));
        // defaults: no pull, 50 ms debounce, topic gpio/<name>, both edges
        assertEquals(new GpioConfig.Input("door", 24, GpioConfig.Pull.OFF, GpioConfig.DEFAULT_DEBOUNCE, "gpio/door",
                GpioConfig.Edge.BOTH), config.inputs().get(1));
        assertEquals(new GpioConfig.Output("alarm-led", 17, GpioConfig.Level.LOW), config.outputs().getFirst());
        assertEquals(new GpioConfig.Rule("greenhouse-climate", "critical", "alarm-led", GpioConfig.Level.HIGH,
                Optional.of(Duration.ofSeconds(5))), config.rules().get(0));
        assertEquals(Optional.of(Duration.ofMillis(250)), config.rules().get(1).hold());
        assertEquals(GpioConfig.Level.HIGH, config.rules().get(1).state());
    }

    @Test
    void providerDefaultsToGpiod() throws ConfigException {
        GpioConfig config = GpioConfig.parse(FILE, gpioNode("gpio:\n  outputs: [{name: led, pin: 17}]\n"));
        assertEquals(GpioConfig.Provider.GPIOD, config.provider());
        assertEquals(GpioConfig.Level.LOW, config.outputs().getFirst().initial());
    }

    @Test
    void eachMistakeIsNamedWithItsKeyAndLine() {
        List<String> problems = problems("""
                device_id: x
                gpio:
                  provider: wiringpi
                  chip: chip0
                  inputs:
                    - {name: pir, pin: 23, pull: sideways, debounce_ms: -1, edge: up, colour: red}
                    - {name: pir, pin: 23, topic: "gpio/#"}
                    - {pin: 99999}
                    - just-a-name
                  outputs:
                    - {name: led, pin: "seventeen", initial: on}
                  rules:
                    - {route: greenhouse-climate, label: critical, output: buzzer, for_s: 0}
                    - {label: critical, output: led, state: blink, for_s: soon}
                """, null);
        List<String> expected = List.of(
                "agent.yaml:3: gpio.provider: expected one of gpiod, linuxfs, mock, got 'wiringpi'",
                "agent.yaml:4: gpio.chip: expected a chip name like gpiochip0, got 'chip0'",
                "agent.yaml:6: gpio.inputs[0].colour: unknown key; known keys here: debounce_ms, edge, name, pin, pull, topic",
                "agent.yaml:6: gpio.inputs[0].pull: expected one of off, up, down, got 'sideways'",
                "agent.yaml:6: gpio.inputs[0].debounce_ms: must be between 0 and 10000, got -1",
                "agent.yaml:6: gpio.inputs[0].edge: expected one of rising, falling, both, got 'up'",
                "agent.yaml:7: gpio.inputs[1].name: 'pir' is already the name of another input or output",
                "agent.yaml:7: gpio.inputs[1].pin: pin 23 is already used by 'pir'",
                "agent.yaml:7: gpio.inputs[1].topic: " + TopicFilter.topicNameProblem("gpio/#"),
                "agent.yaml:8: gpio.inputs[2].name: missing (required)",
                "agent.yaml:8: gpio.inputs[2].pin: must be between 0 and 511, got 99999",
                "agent.yaml:9: gpio.inputs[3]: expected a mapping of keys, got text 'just-a-name'",
                "agent.yaml:11: gpio.outputs[0].pin: expected a whole number, got text 'seventeen'",
                "agent.yaml:11: gpio.outputs[0].initial: expected one of low, high, got 'on'",
                "agent.yaml:13: gpio.rules[0].output: no output named 'buzzer'; outputs: led",
                "agent.yaml:13: gpio.rules[0].for_s: must be more than 0 and at most 86400 seconds, got 0",
                "agent.yaml:14: gpio.rules[1].route: missing (required)",
                "agent.yaml:14: gpio.rules[1].state: expected one of low, high, got 'blink'",
                "agent.yaml:14: gpio.rules[1].for_s: expected a number of seconds, got text 'soon'");
        assertEquals(expected, problems);
    }

    @Test
    void rulesAreCheckedAgainstTheRoutes() throws Exception {
        List<RouteConfig> routes = List.of(route("greenhouse-climate", Task.CLASSIFY, List.of("normal", "warning", "critical")),
                route("camera-events", Task.SUMMARIZE, List.of()));
        List<String> problems = problems("""
                gpio:
                  outputs: [{name: led, pin: 17}]
                  rules:
                    - {route: greenhouse, label: critical, output: led}
                    - {route: greenhouse-climate, label: alarm, output: led}
                    - {route: camera-events, label: person, output: led}
                    - {route: greenhouse-climate, label: critical, output: led}
                """, routes);
        assertEquals(List.of(
                "agent.yaml:4: gpio.rules[0].route: no route named 'greenhouse'; routes: greenhouse-climate, camera-events",
                "agent.yaml:5: gpio.rules[1].label: route 'greenhouse-climate' has no label 'alarm'; labels: normal, warning, critical",
                "agent.yaml:6: gpio.rules[2].route: route 'camera-events' summarizes; rules need a classify route"), problems);
    }

    @Test
    void aSectionThatIsNotAMappingIsOneClearProblem() {
        ConfigException e = assertThrows(ConfigException.class, () -> GpioConfig.parse(FILE, gpioNode("gpio: [1, 2]\n")));
        assertEquals(1, e.problems().size());
        assertTrue(e.getMessage().contains("agent.yaml:1: gpio: expected a mapping of keys, got a list"), e.getMessage());
    }
}
