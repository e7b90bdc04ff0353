package dev.phiedge.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.backend.Backends;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo as {@code ./scripts/demo.sh} runs it: its command line, the defaults it finds, every shipped sample. */
class DemoCliTest {

    /** The repository root: the demo module's parent (surefire runs in demo/). */
    private static final Path REPO = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return new DemoCli(Backends::create, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** The demo as typed: samples/config/demo.yaml found next to the build, every sample answered. */
    @Test
    void theDemoAnswersEveryShippedSampleAsTheRulesSay() {
        assertEquals(0, run("--pace-ms", "20"), out() + err());
        String text = out();
        assertTrue(text.startsWith("Starting the embedded MQTT broker ..."), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("greenhouse/3/climate          temperature 41.2 C, humidity 55 %,"
                + " soil 30 %, CO2 900 ppm -> critical (")), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("frigate/events                new person on front_door (0.91)"
                + " -> \"A person appeared on front_door.\"")), text);
        assertTrue(text.contains("16 events, 16 answered (16 of 16 as expected), 0 rejected"), text);
        assertEquals("Stopped.", text.lines().toList().getLast());
        assertEquals("", err());
    }

    @Test
    void theDemoConfigurationIsFoundFromTheWorkingDirectoryOrTheBuild() {
        Path found = DemoCli.defaultDemoConfig().orElseThrow().toAbsolutePath().normalize();
        assertEquals(REPO.resolve("samples/config/demo.yaml").normalize(), found);
    }

    @Test
    void helpListsEveryOptionWithItsDefault() {
        for (String help : List.of("--help", "-h")) {
            out.reset();
            assertEquals(0, run(help));
            String text = out();
            assertTrue(text.startsWith("usage: ./scripts/demo.sh [options]"), text);
            for (String option : List.of("--config FILE", "--payloads DIR", "--pace-ms N")) {
                assertTrue(text.contains(option), option + " in\n" + text);
            }
            assertTrue(text.contains("(default: " + DemoRunner.DEFAULT_PACE.toMillis() + ")"), text);
            assertTrue(text.contains("samples/config/demo.yaml"), text);
        }
        assertEquals("", err());
    }

    @Test
    void usageErrorsAreOneLineThatNamesTheFix() {
        record Case(String[] args, String expected) { }
        for (Case c : List.of(
                new Case(new String[] {"--colour", "red"}, "edge-agent-demo: unknown option --colour (see ./scripts/demo.sh --help)"),
                new Case(new String[] {"--pace-ms", "soon"}, "edge-agent-demo: --pace-ms needs a number of milliseconds,"
                        + " got 'soon' (see ./scripts/demo.sh --help)"),
                new Case(new String[] {"--config"}, "edge-agent-demo: option --config needs a value (see ./scripts/demo.sh --help)"),
                new Case(new String[] {"demo"}, "edge-agent-demo: unexpected argument 'demo' (see ./scripts/demo.sh --help)"))) {
            err.reset();
            assertEquals(2, run(c.args()), String.join(" ", c.args()));
            assertEquals(c.expected() + System.lineSeparator(), err());
        }
        assertEquals("", out());
    }
}
