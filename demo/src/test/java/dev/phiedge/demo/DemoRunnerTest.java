package dev.phiedge.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.backend.Backends;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo end to end with the demo model: embedded broker, agent, simulator, one printed line per event
 * with its answer, a marked mismatch when a sample's expectation is wrong, an error report for a broken
 * event, a clean stop. All the shipped samples through the demo's command line: DemoCliTest.
 */
class DemoRunnerTest {

    private static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

    @Test
    void everySampleIsPrintedWithItsAnswerAndEverythingStops(@TempDir Path payloads) throws Exception {
        Files.writeString(payloads.resolve("a-greenhouse.jsonl"), """
                {"topic": "greenhouse/3/climate", "payload": {"temperature": 41.2, "humidity": 55, "soil_moisture": 30, "co2": 900}, "expected": "critical"}
                # a comment line, then an event the route cannot render (no co2): reported on the errors topic;
                # the last expectation is wrong on purpose (the rules say normal): the line marks the mismatch
                {"topic": "greenhouse/7/climate", "payload": {"temperature": 20.0, "humidity": 55, "soil_moisture": 30}}
                {"topic": "greenhouse/4/climate", "payload": {"temperature": 26.1, "humidity": 58, "soil_moisture": 33, "co2": 1200}, "expected": "critical"}
                """);
        Files.writeString(payloads.resolve("b-camera.jsonl"), """
                {"topic": "frigate/events", "payload": {"type": "new", "after": {"id": "1.2-ab", "camera": "front_door", "label": "person", "top_score": 0.91, "entered_zones": ["driveway"], "start_time": 1764320101}}}
                """);
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        int status;
        try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            status = DemoRunner.run(out, REPO.resolve("samples/config/demo.yaml"), Backends::create,
                    payloads, Duration.ofMillis(20), Duration.ofSeconds(60));
        }
        String text = buffer.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text);
        List<String> lines = text.lines().toList();
        // the demo model's answers, by its rules: 41.2 C is critical, the second reading normal
        assertTrue(lines.stream().anyMatch(l -> l.matches("greenhouse/3/climate  temperature 41\\.2 C, humidity 55 %, soil 30 %,"
                + " CO2 900 ppm -> critical \\(\\d\\.\\d\\d\\)")), text);
        assertTrue(lines.stream().anyMatch(l -> l.matches("greenhouse/4/climate  temperature 26\\.1 C, humidity 58 %, soil 33 %,"
                + " CO2 1200 ppm -> normal \\(\\d\\.\\d\\d\\)   \\[expected: critical]")), text);
        assertTrue(lines.contains("frigate/events        new person on front_door (0.91) in driveway -> \"A person appeared"
                + " on front_door in the driveway.\""), text);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("greenhouse/7/climate  temperature 20.0 C")
                && l.contains("-> rejected: missing_field")), text);
        assertTrue(lines.contains("4 events, 3 answered (1 of 2 as expected), 1 rejected"), text);
        assertEquals("Stopped.", lines.getLast());
    }

    @Test
    void theShippedSamplesLoadAndMatchTheDemoModelsShapes() throws Exception {
        List<EventSimulator.Sample> samples = EventSimulator.loadFolder(REPO.resolve("samples/payloads"));
        assertEquals(16, samples.size());
        assertTrue(samples.stream().allMatch(s -> s.expected().isPresent()));
        // interleaved: the kinds alternate
        assertEquals("frigate/events", samples.get(0).topic());
        assertTrue(samples.get(1).topic().startsWith("greenhouse/"));
    }

    @Test
    void resultFiltersReplacePlaceholderLevels() throws Exception {
        var config = dev.phiedge.agent.config.ConfigLoader.load(REPO.resolve("samples/config/demo.yaml"));
        assertEquals(List.of("greenhouse/+/climate/assessment", "cameras/+/description"),
                List.copyOf(DemoRunner.resultFilters(config.routes())));
    }
}
