package dev.phiedge.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.backend.Backends;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.SharedData;
import dev.phiedge.agent.testing.TestClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EdgeAgentCliTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final String demo = SharedData.repoRoot().resolve("samples/config/demo.yaml").toString();

    /** The CLI as installed: the demo model through the real runtime backend. */
    private int run(String... args) {
        EdgeAgentCli cli = new EdgeAgentCli(Backends::create,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return cli.run(args);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void checkAcceptsTheSamples() {
        assertEquals(0, run("check", "--config", demo), err());
        assertTrue(out().startsWith("OK: "), out());
    }

    @Test
    void checkListsEveryProblemWithFileAndLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, """
                device_id: d
                mqtt: {url: tcp://127.0.0.1:1883, colour: red}
                model: {path: nowhere.gguf}
                routes:
                  - {name: a, subscribe: "x/#/y", task: classify, labels: [p, q], prompt: "{v}", publish: out}
                """);
        assertEquals(1, run("check", "--config", file.toString()));
        String printed = out();
        assertTrue(printed.contains(file + ":2: mqtt.colour: unknown key"), printed);
        assertTrue(printed.contains(file + ":3: model.path: model file not found"), printed);
        assertTrue(printed.contains(file + ":5: routes[0].subscribe: invalid topic filter"), printed);
        assertTrue(printed.contains("3 problem(s)"), printed);
        assertEquals(1, run("check", "--config", dir.resolve("absent.yaml").toString()));
        assertTrue(out().contains("configuration file not found"), out());
    }

    @Test
    void onceRendersRunsAndPrintsTheResult() throws Exception {
        // The first event of shared/models/demo/examples.jsonl: normal by the model's rules, 61 prompt tokens.
        int code = run("once", "--config", demo, "--route", "greenhouse-climate", "--topic", "greenhouse/6/climate",
                "--payload", "{\"temperature\": 21.0, \"humidity\": 72, \"soil_moisture\": 36, \"co2\": 857}");
        assertEquals(0, code, err());
        JsonNode result = new ObjectMapper().readTree(out());
        assertEquals("greenhouse-climate", result.get("route").textValue());
        assertEquals("demo", result.get("device").textValue());
        assertEquals("greenhouse/6/climate", result.get("source_topic").textValue());
        assertEquals("phi3-edge-demo.Q4_0", result.get("model").textValue());
        assertEquals("normal", result.get("label").textValue(), result.toString());
        assertEquals(61, result.get("prompt_tokens").intValue());
        assertTrue(result.get("scores").get("normal").doubleValue() > 0.5, result.toString());
        assertTrue(result.get("scores").has("critical"));
    }

    @Test
    void onceSummarizesACameraEvent() throws Exception {
        int code = run("once", "--config", demo, "--route", "camera-events", "--topic", "frigate/events",
                "--payload", "{\"type\": \"new\", \"after\": {\"id\": \"cam-7\", \"camera\": \"front_door\", "
                        + "\"label\": \"person\", \"top_score\": 0.91, \"entered_zones\": [\"driveway\"]}}");
        assertEquals(0, code, err());
        JsonNode result = new ObjectMapper().readTree(out());
        assertEquals("cam-7", result.get("event_id").textValue());
        assertEquals("A person appeared on front_door in the driveway.", result.get("summary").textValue());
    }

    @Test
    void onceRefusesABrokenEventWithTheReason() {
        assertEquals(1, run("once", "--config", demo, "--route", "camera-events", "--topic", "frigate/events",
                "--payload", "{\"type\": \"new\"}"));
        assertTrue(err().contains("\"reason\":\"missing_field\""), err());
        assertEquals(2, run("once", "--config", demo, "--route", "camera-events", "--topic", "elsewhere",
                "--payload", "{}"));
        assertTrue(err().contains("edge-agent: topic 'elsewhere' does not match the route's filter 'frigate/events';"
                + " give a --topic that it matches"), err());
    }

    @Test
    void runSaysClearlyWhenTheModelCannotBeLoaded(@TempDir Path dir) throws Exception {
        // A file that passes the configuration check (it starts with GGUF) but is cut off after its version.
        Files.write(dir.resolve("cut.gguf"), new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0});
        Path config = dir.resolve("agent.yaml");
        Files.writeString(config, Files.readString(Path.of(demo))
                .replace("path: ../models/phi3-edge-demo.Q4_0.gguf", "path: cut.gguf"));
        assertEquals(2, run("run", "--config", config.toString()));
        assertTrue(err().startsWith("edge-agent: cannot load the model: ") && err().contains("cut.gguf"), err());
    }

    /**
     * A reference model cut short (shared/testdata/phi3-tiny): check refuses it with the runtime's own
     * message, placed at model.path, and run refuses it with the same message.
     */
    @Test
    void checkRefusesATruncatedModelExactlyAsRunDoes(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("cut.gguf");
        Files.copy(SharedData.require("testdata/phi3-tiny/phi3-tiny-a.Q4_0.gguf"), model);
        try (var channel = java.nio.channels.FileChannel.open(model, java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(Files.size(model) - 1000);
        }
        Path config = dir.resolve("agent.yaml");
        String yaml = Files.readString(Path.of(demo)).replace("path: ../models/phi3-edge-demo.Q4_0.gguf", "path: cut.gguf");
        Files.writeString(config, yaml);
        int line = yaml.lines().toList().indexOf("  path: cut.gguf") + 1;

        assertEquals(1, run("check", "--config", config.toString()));
        String checked = out();
        String prefix = config + ":" + line + ": model.path: the runtime cannot load this model: ";
        assertTrue(checked.contains(prefix + model + ": at byte offset "), checked);
        assertTrue(checked.contains("tensor 'blk.1.ffn_up.weight' (Q4_0, 147456 bytes at data offset"), checked);
        assertTrue(checked.contains("needs 12820000 bytes, file has 12819000"), checked);
        assertTrue(checked.contains("1 problem(s)") && !checked.contains("OK"), checked);
        String runtimeMessage = checked.lines().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow()
                .substring(prefix.length());

        assertEquals(2, run("run", "--config", config.toString()));
        assertTrue(err().contains("cannot load the model: " + runtimeMessage), err() + "\nvs\n" + runtimeMessage);
    }

    @Test
    void checkReportsGpioMistakesWithFileAndLineAndNeverOpensPins(@TempDir Path dir) throws Exception {
        String routes = Files.readString(Path.of(demo))
                .replace("path: ../models/phi3-edge-demo.Q4_0.gguf", "path: " + Path.of(demo).resolveSibling("../models/phi3-edge-demo.Q4_0.gguf").normalize());
        int routesLines = (int) routes.lines().count();
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, routes + """
                gpio:
                  provider: gpoid
                  inputs:
                    - {name: pir, pin: 23, pull: sideways}
                    - {name: button, pin: 23}
                  outputs: [{name: led, pin: 600}]
                  rules:
                    - {route: greenhouse-climate, label: hot, output: led}
                    - {route: camera-events, label: critical, output: buzzer}
                    - {route: greenhouse, label: critical, output: led, for_s: soon}
                """);
        assertEquals(1, run("check", "--config", file.toString()));
        String printed = out();
        int g = routesLines + 1; // the line of "gpio:"
        for (String expected : List.of(
                ":" + (g + 1) + ": gpio.provider: ",
                ":" + (g + 3) + ": gpio.inputs[0].pull: ",
                ":" + (g + 4) + ": gpio.inputs[1].pin: pin 23 is already used by 'pir'",
                ":" + (g + 5) + ": gpio.outputs[0].pin: ",
                ":" + (g + 7) + ": gpio.rules[0].label: route 'greenhouse-climate' has no label 'hot'",
                ":" + (g + 8) + ": gpio.rules[1].output: no output named 'buzzer'",
                ":" + (g + 8) + ": gpio.rules[1].route: route 'camera-events' summarizes",
                ":" + (g + 9) + ": gpio.rules[2].route: no route named 'greenhouse'",
                ":" + (g + 9) + ": gpio.rules[2].for_s: ")) {
            assertTrue(printed.contains(file + expected), "missing '" + expected + "' in:\n" + printed);
        }

        // a valid section on a machine without GPIO: check passes (it only reads), run refuses to start
        Files.writeString(file, routes + """
                gpio:
                  inputs: [{name: pir, pin: 23, topic: gpio/pir}]
                  outputs: [{name: led, pin: 17}]
                  rules: [{route: greenhouse-climate, label: critical, output: led, for_s: 5}]
                """);
        out.reset();
        assertEquals(0, run("check", "--config", file.toString()), out());
        assertTrue(out().contains("gpio (gpiod): 1 input(s), 1 output(s), 1 rule(s)"), out());
    }

    @Test
    void runWithGpioOnAMachineWithoutGpioStopsWithAClearError(@TempDir Path dir) throws Exception {
        try (var chips = Files.newDirectoryStream(Path.of("/dev"), "gpiochip*")) {
            assumeFalse(chips.iterator().hasNext(), "this machine has GPIO chips");
        }
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, Files.readString(Path.of(demo))
                .replace("path: ../models/", "path: " + Path.of(demo).resolveSibling("../models").normalize() + "/") + """
                gpio:
                  provider: gpiod
                  outputs: [{name: led, pin: 17}]
                """);
        assertEquals(2, run("run", "--config", file.toString()));
        assertTrue(err().contains("gpio: provider gpiod needs a GPIO character device, but there is no /dev/gpiochip*"),
                err());
        assertTrue(err().contains("remove the gpio section"), err());
    }

    @Test
    void usageErrorsAreOneLineThatNamesTheFix() {
        record Case(String[] args, String expected) { }
        for (Case c : List.of(
                new Case(new String[] {}, "edge-agent: missing COMMAND: run, check or once (see edge-agent --help)"),
                new Case(new String[] {"frobnicate"}, "edge-agent: unknown command 'frobnicate': the commands are run, check,"
                        + " once, selftest and model (see edge-agent --help)"),
                new Case(new String[] {"check"}, "edge-agent: missing --config FILE (see edge-agent check --help)"),
                new Case(new String[] {"run"}, "edge-agent: missing --config FILE (see edge-agent run --help)"),
                new Case(new String[] {"run", "--config"}, "edge-agent: option --config needs a value: --config FILE"
                        + " (see edge-agent run --help)"),
                new Case(new String[] {"run", "--config", demo, "--colour", "red"}, "edge-agent: unknown option --colour"
                        + " (see edge-agent run --help)"),
                new Case(new String[] {"check", "stray"}, "edge-agent: unexpected argument 'stray' (see edge-agent check --help)"),
                new Case(new String[] {"once", "--config", demo, "--route", "r"}, "edge-agent: missing --topic TOPIC"
                        + " (see edge-agent once --help)"),
                new Case(new String[] {"help", "frobnicate"}, "edge-agent: unknown command 'frobnicate': the commands are"
                        + " run, check and once (see edge-agent --help)"),
                new Case(new String[] {"demo"}, "edge-agent: " + EdgeAgentCli.DEMO_MOVED))) {
            err.reset();
            assertEquals(2, run(c.args()), String.join(" ", c.args()));
            assertEquals(c.expected() + System.lineSeparator(), err(), String.join(" ", c.args()));
        }
        assertEquals("", out());
    }

    @Test
    void theDemoCommandSaysWhereTheDemoIs() {
        assertEquals(2, run("demo", "--pace-ms", "20"));
        String said = err();
        assertTrue(said.startsWith("edge-agent: the demo is not in this jar") && said.contains("./scripts/demo.sh")
                && said.lines().count() == 1, said);
    }

    /** Every command answers --help and -h with status 0 and lists each of its options. */
    @Test
    void everyCommandAnswersHelpWithItsOptions() {
        for (EdgeAgentCli.Command command : EdgeAgentCli.COMMANDS) {
            for (String help : List.of("--help", "-h")) {
                out.reset();
                err.reset();
                assertEquals(0, run(command.name(), help), command.name() + " " + help + ": " + err());
                String text = out();
                assertTrue(text.startsWith("usage: edge-agent " + command.name()), text);
                for (EdgeAgentCli.Option option : command.options()) {
                    assertTrue(text.contains("--" + option.name() + " " + option.arg()), option + " in\n" + text);
                }
                assertTrue(text.contains("-h, --help") && text.contains("exit status: "), text);
                assertEquals("", err());
            }
        }
        // --help after options, and help COMMAND, give the same text; a payload "-h" is a value, not a request for help
        out.reset();
        assertEquals(0, run("once", "--config", demo, "--help"));
        String once = out();
        out.reset();
        assertEquals(0, run("help", "once"));
        assertEquals(once, out());
        assertTrue(once.contains("--payload JSON") && once.contains("(required)"), once);
        out.reset();
        assertEquals(2, run("once", "--config", demo, "--route", "camera-events", "--payload", "-h"));
        assertEquals("edge-agent: missing --topic TOPIC (see edge-agent once --help)" + System.lineSeparator(), err());
    }

    @Test
    void topLevelHelpListsEveryCommandWithOneLineAndWhereTheDefaultsAre() {
        for (String help : List.of("--help", "-h", "help")) {
            out.reset();
            assertEquals(0, run(help), help);
            String text = out();
            assertTrue(text.startsWith("usage: edge-agent COMMAND"), text);
            for (EdgeAgentCli.Command command : EdgeAgentCli.COMMANDS) {
                assertTrue(text.lines().anyMatch(l -> l.startsWith("  " + command.name() + " ") && l.contains(command.summary())),
                        command.name() + " in\n" + text);
            }
            assertTrue(text.contains("samples/config/example.yaml"), "where the defaults are: " + text);
            assertTrue(text.contains("./scripts/demo.sh"), text);
        }
        assertEquals("", err());
    }

    @Test
    void runAndOnceReportConfigurationProblemsAsErrors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "device_id: d\nmqtt: {url: tcp://127.0.0.1:1883, colour: red}\n");
        assertEquals(1, run("run", "--config", file.toString()));
        String said = err();
        assertTrue(said.contains(file + ":2: mqtt.colour: unknown key"), said);
        assertTrue(said.lines().toList().getLast().startsWith("edge-agent: ")
                && said.contains("problem(s) in " + file + "; fix them"), said);
        assertEquals("", out());
        err.reset();
        assertEquals(2, run("once", "--config", demo, "--route", "nowhere", "--topic", "t", "--payload", "{}"));
        assertEquals("edge-agent: no route named 'nowhere' in " + demo + "; give --route one of: greenhouse-climate,"
                + " camera-events" + System.lineSeparator(), err());
    }

    /**
     * {@code edge-agent ARGS} in a JVM of its own, as the unit starts it; its output goes to {@code log}.
     * Logging as the jar configures it (tinylog.properties: info, on a writing thread that the CLI stops).
     */
    private static Process startAgentProcess(Path log, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-Dphiedge.kernels=rules",
                "-Dtinylog.configuration=tinylog.properties",
                "-cp", System.getProperty("java.class.path"), EdgeAgentCli.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /**
     * systemctl stop sends SIGTERM: the agent closes (offline retained) and the process exits 0, not the
     * JVM's 143, so systemd records a clean stop. The real broker, the real demo model, a JVM of its own.
     */
    @Test
    void sigtermIsACleanStopThatExitsZero(@TempDir Path dir) throws Exception {
        Path model = Path.of(demo).resolveSibling("../models/phi3-edge-demo.Q4_0.gguf").normalize();
        String status = "edge-agent/demo/status";
        try (MosquittoBroker broker = MosquittoBroker.start()) {
            Path config = dir.resolve("agent.yaml");
            Files.writeString(config, Files.readString(Path.of(demo))
                    .replace("url: tcp://127.0.0.1:1883", "url: " + broker.url())
                    .replace("path: ../models/phi3-edge-demo.Q4_0.gguf", "path: " + model)
                    + "store:\n  path: " + dir.resolve("store") + "\n");
            Path log = dir.resolve("agent.log");
            Process agent = startAgentProcess(log, "run", "--config", config.toString());
            try (TestClient client = new TestClient(broker.url(), "sigterm-watcher")) {
                client.subscribe(status);
                client.await(r -> r.text().equals("online"), Duration.ofSeconds(90), "online on " + status);
                agent.destroy(); // SIGTERM
                assertTrue(agent.waitFor(60, TimeUnit.SECONDS), "the agent did not stop within 60 s");
                assertEquals(0, agent.exitValue(), Files.readString(log));
                // the shutdown's last log line was written out before the process ended
                assertTrue(Files.readString(log).contains("Edge agent demo stopped"), Files.readString(log));
            } finally {
                agent.destroyForcibly();
            }
            try (TestClient late = new TestClient(broker.url(), "sigterm-late")) {
                late.subscribe(status);
                TestClient.Received last = late.awaitTopic(status, Duration.ofSeconds(10));
                assertEquals("offline", last.text());
                assertTrue(last.retained());
            }
        }
    }

    /** A configuration error stays a failure (1) for the process as well, through main's System.exit. */
    @Test
    void aConfigurationErrorExitsOneFromItsOwnJvm(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("agent.yaml");
        Files.writeString(config, Files.readString(Path.of(demo))
                .replace("publish: greenhouse/{$topic[1]}/climate/assessment", "publish: greenhouse/{$topic[1]}/climate"));
        Path log = dir.resolve("agent.log");
        Process agent = startAgentProcess(log, "run", "--config", config.toString());
        assertTrue(agent.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, agent.exitValue(), Files.readString(log));
        assertTrue(Files.readString(log).contains("the agent would answer its own results"), Files.readString(log));
    }
}
