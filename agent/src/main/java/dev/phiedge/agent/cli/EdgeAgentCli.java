package dev.phiedge.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigException;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.config.ConfigProblem;
import dev.phiedge.agent.config.ModelConfig;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.gpio.GpioConfig;
import dev.phiedge.agent.gpio.GpioUnavailableException;
import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.mqtt.MqttSetupException;
import dev.phiedge.agent.mqtt.OutboundMessage;
import dev.phiedge.agent.pipeline.AgentStats;
import dev.phiedge.agent.pipeline.Backends;
import dev.phiedge.agent.pipeline.EdgeAgent;
import dev.phiedge.agent.pipeline.ErrorReporter;
import dev.phiedge.agent.pipeline.Event;
import dev.phiedge.agent.pipeline.EventQueue;
import dev.phiedge.agent.pipeline.InferenceBackend;
import dev.phiedge.agent.pipeline.InferenceWorker;
import dev.phiedge.agent.pipeline.Intake;
import dev.phiedge.agent.pipeline.ResultPublisher;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code edge-agent run|check|once} (the demo has its own jar: demo/target/edge-agent-demo.jar). Exit status: 0 success, and for {@code run} a clean stop (SIGTERM,
 * SIGINT, SIGHUP: the agent closes, then the process exits 0, not the JVM's 128 + signal); 1 the
 * configuration or the event was refused (the reasons are printed); 2 wrong usage, or the model or the agent
 * could not start.
 */
public final class EdgeAgentCli {

    private static final String USAGE = """
            usage: edge-agent run   --config FILE
                   edge-agent check --config FILE
                   edge-agent once  --config FILE --route NAME --topic TOPIC --payload JSON""";

    /** What {@code edge-agent demo} answers in the device jar. */
    static final String DEMO_MOVED = "the demo is not in this jar: it has its own, demo/target/edge-agent-demo.jar;"
            + " run ./scripts/demo.sh from the repository";

    private final Function<ModelConfig, InferenceBackend> backends;
    private final PrintStream out;
    private final PrintStream err;

    /** @param backends creates the model backend; the real program passes {@link Backends#create} */
    public EdgeAgentCli(Function<ModelConfig, InferenceBackend> backends, PrintStream out, PrintStream err) {
        this.backends = backends;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        ownsProcess = true;
        int status = new EdgeAgentCli(Backends::create, System.out, System.err).run(args);
        stopLogging();
        System.exit(status);
    }

    /** Set by {@link #main}: the process is the agent's, so its shutdown hook decides the exit status. */
    private static volatile boolean ownsProcess;

    private static final java.util.concurrent.atomic.AtomicBoolean LOGGING_STOPPED = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Writes out what tinylog's writing thread still holds. tinylog.properties turns its own shutdown hook
     * off: that hook ran next to ours and dropped the shutdown's log lines (outputs reset, offline, stopped).
     * Public for the demo's main class, which runs the agent in its own process too.
     */
    public static void stopLogging() {
        if (LOGGING_STOPPED.compareAndSet(false, true)) {
            try {
                org.tinylog.provider.ProviderRegistry.getLoggingProvider().shutdown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    public int run(String... args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            err.println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        Map<String, String> options = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                err.println("unexpected argument '" + args[i] + "'\n" + USAGE);
                return 2;
            }
            options.put(args[i].substring(2), args[++i]);
        }
        return switch (args[0]) {
            case "check" -> require(options, List.of("config")) ? check(options) : 2;
            case "once" -> require(options, List.of("config", "route", "topic", "payload")) ? once(options) : 2;
            case "run" -> require(options, List.of("config")) ? daemon(options) : 2;
            case "demo" -> {
                err.println("edge-agent: " + DEMO_MOVED);
                yield 2;
            }
            default -> {
                err.println("unknown command '" + args[0] + "'\n" + USAGE);
                yield 2;
            }
        };
    }

    private boolean require(Map<String, String> options, List<String> names) {
        for (String name : names) {
            if (!options.containsKey(name)) {
                err.println("missing --" + name + "\n" + USAGE);
                return false;
            }
        }
        return true;
    }

    private Optional<AgentConfig> load(String file) {
        return load(file, false);
    }

    /** @param openModel open the model with the runtime as well, as {@code check} does ({@link ConfigLoader#check}) */
    private Optional<AgentConfig> load(String file, boolean openModel) {
        try {
            return Optional.of(openModel ? ConfigLoader.check(Path.of(file)) : ConfigLoader.load(Path.of(file)));
        } catch (ConfigException e) {
            for (ConfigProblem problem : e.problems()) {
                out.println(problem);
            }
            out.println(e.problems().size() + " problem(s) in " + file);
            return Optional.empty();
        }
    }

    /**
     * Everything {@code run} would refuse at start, without starting: the configuration with its file and
     * line, feedback loops between routes, the TLS files as the connection loads them, and the model as
     * the runtime opens it. OK is printed only when all of it passes.
     */
    private int check(Map<String, String> options) {
        Optional<AgentConfig> config = load(options.get("config"), true);
        if (config.isEmpty()) {
            return 1;
        }
        AgentConfig c = config.get();
        // check reads the gpio section and its rules but never opens the pins: it runs anywhere
        String gpio = c.gpio().map(EdgeAgentCli::describe).orElse("");
        out.println("OK: " + options.get("config") + ": device " + c.deviceId() + ", " + c.routes().size()
                + " route(s), model " + c.model().path() + gpio);
        return 0;
    }

    private int once(Map<String, String> options) {
        Optional<AgentConfig> loaded = load(options.get("config"));
        if (loaded.isEmpty()) {
            return 1;
        }
        AgentConfig all = loaded.get();
        Optional<RouteConfig> route = all.route(options.get("route"));
        String topic = options.get("topic");
        if (route.isEmpty()) {
            err.println("no route named '" + options.get("route") + "'; routes: "
                    + all.routes().stream().map(RouteConfig::name).toList());
            return 2;
        }
        if (!route.get().subscribe().matches(topic)) {
            err.println("topic '" + topic + "' does not match the route's filter '" + route.get().subscribe().text() + "'");
            return 2;
        }
        AgentConfig config = new AgentConfig(all.source(), all.deviceId(), all.mqtt(), all.model(), List.of(route.get()),
                all.limits(), all.store(), all.statsInterval(), all.gpio());
        List<OutboundMessage> errors = new ArrayList<>();
        AgentStats stats = new AgentStats();
        EventQueue queue = new EventQueue(config.routes(), (e, reason) -> err.println("dropped: " + reason.wireName()));
        ErrorReporter reporter = new ErrorReporter(config.deviceId(), config.agentTopic("errors"), stats, errors::add);
        new Intake(config, queue, reporter, stats).accept(new InboundMessage(topic,
                options.get("payload").getBytes(StandardCharsets.UTF_8), 0, false, Optional.empty(), Optional.empty(),
                Optional.empty(), System.nanoTime()));
        Optional<Event> event = Optional.empty();
        try {
            event = queue.take(0, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (event.isPresent()) {
            InferenceBackend backend;
            try {
                backend = backends.apply(config.model());
            } catch (RuntimeException e) {
                err.println("cannot load the model: " + e.getMessage());
                return 2;
            }
            try (backend) {
                ResultPublisher results = new ResultPublisher(config.deviceId(), backend.modelName(), m -> { });
                Optional<com.fasterxml.jackson.databind.node.ObjectNode> result =
                        new InferenceWorker(queue, backend, results, reporter, stats).process(event.get());
                if (result.isPresent()) {
                    out.println(pretty(result.get()));
                    return 0;
                }
            }
        }
        for (OutboundMessage error : errors) {
            err.println("rejected: " + new String(error.payload(), StandardCharsets.UTF_8));
        }
        return 1;
    }

    private int daemon(Map<String, String> options) {
        Optional<AgentConfig> config = load(options.get("config"));
        if (config.isEmpty()) {
            return 1;
        }
        InferenceBackend backend;
        try {
            backend = backends.apply(config.get().model());
        } catch (RuntimeException e) {
            err.println("cannot load the model: " + e.getMessage());
            return 2;
        }
        EdgeAgent agent;
        try {
            agent = new EdgeAgent(config.get(), backend);
        } catch (MqttSetupException | GpioUnavailableException | java.io.IOException e) {
            err.println(e.getMessage());
            backend.close();
            return 2;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM (systemd stop), SIGINT (Ctrl-C) and SIGHUP run the hook: stop intake, finish the event in
        // flight, go offline.
        Thread hook = Thread.ofPlatform().name("shutdown").unstarted(() -> {
            int status = 0;
            try {
                agent.close();
            } catch (RuntimeException | Error e) {
                err.println("the agent did not stop cleanly: " + e);
                status = 1;
            } finally {
                stopLogging(); // tinylog's writing thread writes out what it holds, then ends
                out.flush();
                err.flush();
                stopped.countDown();
            }
            if (ownsProcess) {
                // The agent has stopped as asked: that is success, but a JVM that a signal shut down exits
                // with 128 + the signal (143 after SIGTERM), which systemd and container engines count as a
                // failure. halt() ends the process now with our status; it skips the hooks still running,
                // which is why the logs are written out above. Only when main() owns the process: a program
                // that embeds the CLI keeps its own exit status.
                Runtime.getRuntime().halt(status);
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            agent.start();
        } catch (RuntimeException e) {
            // not a stop request: the hook must not turn this failure into a clean exit
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // a signal arrived meanwhile; the hook closes the agent
            }
            err.println("the agent could not start: " + e.getMessage());
            agent.close();
            return 2;
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static String describe(GpioConfig gpio) {
        return "; gpio (" + gpio.provider().wireName() + "): " + gpio.inputs().size() + " input(s), "
                + gpio.outputs().size() + " output(s), " + gpio.rules().size() + " rule(s)";
    }

    private static String pretty(JsonNode node) {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(node);
        } catch (IOException e) {
            return node.toString();
        }
    }
}
