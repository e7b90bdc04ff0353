package dev.phiedge.demo;

import dev.phiedge.agent.backend.Backends;
import dev.phiedge.agent.backend.InferenceBackend;
import dev.phiedge.agent.cli.EdgeAgentCli;
import dev.phiedge.agent.config.ModelSettings;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The demo's command line, the main class of demo/target/edge-agent-demo.jar (what {@code ./scripts/demo.sh}
 * runs): {@code [--config FILE] [--payloads DIR] [--pace-ms N]}. Exit status 0 when every event was
 * answered, 1 when the demo failed (the reason is printed), 2 on a command-line mistake.
 */
public final class DemoCli {

    static final String NAME = "edge-agent-demo";

    /** The demo's configuration, relative to the working directory or to the repository the jar was built in. */
    static final Path DEMO_CONFIG = Path.of("samples", "config", "demo.yaml");

    static final String HELP = """
            usage: ./scripts/demo.sh [options]        (java -jar demo/target/edge-agent-demo.jar [options])

            The demo: an embedded MQTT 5 broker (HiveMQ CE), the agent with the demo model on it, and a
            simulator that publishes sample events; each event is printed with its answer, then everything stops.

            options (all optional):
              --config FILE   the agent's configuration; its mqtt.url is replaced by the embedded broker's
                              (default: samples/config/demo.yaml in the working directory, else in the
                              repository the jar was built in)
              --payloads DIR  a folder of *.jsonl sample events
                              (default: the payloads folder beside the configuration's folder, samples/payloads)
              --pace-ms N     milliseconds between two published events (default: %d)
              -h, --help      this help
            exit status: 0 every event answered, 1 the demo failed, 2 a command-line mistake
            """.formatted(DemoRunner.DEFAULT_PACE.toMillis());

    private final Function<ModelSettings, InferenceBackend> backends;
    private final PrintStream out;
    private final PrintStream err;

    /** @param backends creates the model backend; the real program passes {@link Backends#create} */
    public DemoCli(Function<ModelSettings, InferenceBackend> backends, PrintStream out, PrintStream err) {
        this.backends = backends;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        int status = new DemoCli(Backends::create, System.out, System.err).run(args);
        EdgeAgentCli.stopLogging();
        System.exit(status);
    }

    /**
     * Without {@code --config}, samples/config/demo.yaml is taken from the working directory, else from the
     * repository the jar sits in (demo/target/edge-agent-demo.jar → ../../samples), so it works from anywhere.
     */
    public int run(String... args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--help") || arg.equals("-h")) {
                out.print(HELP);
                return 0;
            }
            if (!arg.startsWith("--")) {
                return usage("unexpected argument '" + arg + "'");
            }
            String name = arg.substring(2);
            if (!List.of("config", "payloads", "pace-ms").contains(name)) {
                return usage("unknown option " + arg);
            }
            if (i + 1 >= args.length) {
                return usage("option " + arg + " needs a value");
            }
            options.put(name, args[++i]);
        }
        Path config;
        if (options.containsKey("config")) {
            config = Path.of(options.get("config"));
        } else {
            Optional<Path> found = defaultDemoConfig();
            if (found.isEmpty()) {
                err.println(NAME + ": " + DEMO_CONFIG + " not found in the working directory nor next to the jar;"
                        + " run it from the repository root or pass --config FILE");
                return 2;
            }
            config = found.get();
        }
        Path payloads = options.containsKey("payloads") ? Path.of(options.get("payloads"))
                : config.toAbsolutePath().getParent().resolveSibling("payloads");
        Duration pace = DemoRunner.DEFAULT_PACE;
        if (options.containsKey("pace-ms")) {
            try {
                pace = Duration.ofMillis(Long.parseUnsignedLong(options.get("pace-ms")));
            } catch (NumberFormatException e) {
                return usage("--pace-ms needs a number of milliseconds, got '" + options.get("pace-ms") + "'");
            }
        }
        return DemoRunner.run(out, config, backends, payloads, pace, DemoRunner.DEFAULT_RESULT_TIMEOUT);
    }

    private int usage(String problem) {
        err.println(NAME + ": " + problem + " (see ./scripts/demo.sh --help)");
        return 2;
    }

    static Optional<Path> defaultDemoConfig() {
        if (Files.isRegularFile(DEMO_CONFIG)) {
            return Optional.of(DEMO_CONFIG);
        }
        try {
            // demo/target/edge-agent-demo.jar, or demo/target/classes when run from the build
            Path code = Path.of(DemoCli.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path candidate = code.toAbsolutePath().getParent().resolve("../..").resolve(DEMO_CONFIG).normalize();
            return Files.isRegularFile(candidate) ? Optional.of(candidate) : Optional.empty();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
