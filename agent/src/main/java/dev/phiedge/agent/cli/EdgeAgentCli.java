package dev.phiedge.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.phiedge.agent.backend.Backends;
import dev.phiedge.agent.backend.InferenceBackend;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigException;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.config.ConfigProblem;
import dev.phiedge.agent.config.GpioConfig;
import dev.phiedge.agent.config.ModelSettings;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.gpio.GpioUnavailableException;
import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.mqtt.MqttSetupException;
import dev.phiedge.agent.mqtt.OutboundMessage;
import dev.phiedge.agent.pipeline.EdgeAgent;
import dev.phiedge.agent.pipeline.ErrorReporter;
import dev.phiedge.agent.pipeline.Event;
import dev.phiedge.agent.pipeline.EventQueue;
import dev.phiedge.agent.pipeline.InferenceWorker;
import dev.phiedge.agent.pipeline.Intake;
import dev.phiedge.agent.pipeline.ResultPublisher;
import dev.phiedge.agent.telemetry.AgentStats;
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
 * {@code edge-agent run|check|once|help}; every command answers {@code --help}. Exit status: 0 success, and
 * for {@code run} a clean stop (SIGTERM, SIGINT, SIGHUP: the agent closes, then the process exits 0, not the
 * JVM's 128 + signal); 1 the configuration or the event was refused (the reasons are printed); 2 wrong
 * usage, or the model or the agent could not start. Every error line starts with {@code edge-agent: } and,
 * where there is one, names the fix.
 */
public final class EdgeAgentCli {

    /** One option of a command: {@code --name ARG}, what it is, and whether it must be given. */
    record Option(String name, String arg, boolean required, String description) {
        String synopsis() {
            return "--" + name + " " + arg;
        }
    }

    /** A command, its one-line summary, a paragraph of what it does, its options and what its exit status means. */
    record Command(String name, String summary, String description, List<Option> options, String exit) {
        Optional<Option> option(String name) {
            return options.stream().filter(o -> o.name().equals(name)).findFirst();
        }

        String synopsis() {
            StringBuilder b = new StringBuilder("edge-agent " + name);
            for (Option o : options) {
                b.append(' ').append(o.required() ? o.synopsis() : "[" + o.synopsis() + "]");
            }
            return b.toString();
        }

        String help() {
            StringBuilder b = new StringBuilder("usage: " + synopsis() + "\n\n" + description + "\n\noptions:\n");
            for (Option o : options) {
                b.append(row(o.synopsis(), (o.required() ? "(required) " : "") + o.description()));
            }
            b.append(row("-h, --help", "this help"));
            return b + "exit status: " + exit + "\n";
        }
    }

    /** {@code   --name ARG      description}, the description wrapped at 100 columns under itself. */
    static String row(String left, String text) {
        String indent = " ".repeat(20);
        StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT, "  %-17s", left));
        int column = b.length();
        for (String word : text.split(" ")) {
            if (column + 1 + word.length() > 100 && column > indent.length()) {
                b.append('\n').append(indent, 0, indent.length() - 1);
                column = indent.length() - 1;
            }
            b.append(' ').append(word);
            column += 1 + word.length();
        }
        return b.append('\n').toString();
    }

    private static final Option CONFIG = new Option("config", "FILE", true,
            "the agent's YAML configuration; samples/config/example.yaml describes every setting and the default"
                    + " that applies when it is left out");

    static final List<Command> COMMANDS = List.of(
            new Command("run", "the daemon: answer the broker's events with the model until stopped",
                    """
                    Loads the configuration and its model, connects to the MQTT broker of mqtt.url, subscribes to every
                    route's topic filter and publishes each answer, until SIGTERM, SIGINT or SIGHUP: then it finishes the
                    event in flight, publishes 'offline' on its status topic and exits 0.""",
                    List.of(CONFIG),
                    "0 a clean stop, 1 the configuration has problems (each printed with file:line), 2 the model,\n"
                            + "the broker's TLS files or the GPIO could not be used"),
            new Command("check", "validate a configuration and open its model, without connecting",
                    """
                    Everything run would refuse at start, without starting: the configuration (each problem with its file
                    and line), feedback loops between routes, the TLS files, the gpio section (its pins are never opened)
                    and the model as the runtime opens it. Prints OK and a summary when all of it passes.""",
                    List.of(CONFIG),
                    "0 OK, 1 problems (printed)"),
            new Command("once", "answer one event given on the command line, print the result, exit",
                    """
                    Renders the route's prompt for the payload, runs the model once and prints the result JSON that run
                    would publish; nothing is connected. A refused event prints the error report run would publish.""",
                    List.of(CONFIG,
                            new Option("route", "NAME", true, "the route to use, by its name in the configuration"),
                            new Option("topic", "TOPIC", true, "the topic the event arrived on; it must match the route's filter"),
                            new Option("payload", "JSON", true, "the event's payload, as the broker would deliver it")),
                    "0 answered, 1 the configuration or the event was refused, 2 no such route, a topic that the\n"
                            + "route does not match, or a model that could not be loaded"),
            new Command("selftest", "check this CPU's vector kernels against the scalar ground truth",
                    "The runtime's kernel self-test, as phi3 selftest: the vector species, every kernel against its scalar"
                            + " ground truth, a speed line per tensor type.",
                    List.of(new Option("seconds", "S", false, "the most time per tensor type to wait for C2 (default: 20)"),
                            new Option("types", "T,...", false, "only these tensor types (default: all)"),
                            new Option("seed", "N", false, "the random rows' seed (default: 1)")),
                    "0 every kernel matched, 1 one did not (named), 2 wrong usage"),
            new Command("model", "the model catalogue (model list); fetch, check and switch a model (model pull NAME|URL)",
                    "edge-agent model list | edge-agent model pull NAME|URL: see edge-agent model --help.",
                    List.of(new Option("sha256", "HEX", false, "the file's expected SHA-256"),
                            new Option("dir", "DIR", false, "the models folder (default: /var/lib/edge-agent/models)"),
                            new Option("min-free", "SIZE", false, "space that must stay free after the download (default: 100M)"),
                            new Option("retries", "N", false, "resumes after a cut connection (default: 3)")),
                    "0 the model is current, 1 the pull failed, 2 wrong usage"),
            new Command("help", "this overview, or a command's options: edge-agent help COMMAND",
                    "Prints the overview of the commands, or that of COMMAND: the same as edge-agent COMMAND --help.",
                    List.of(), "0"));

    static final String HELP = overview();

    private static String overview() {
        StringBuilder b = new StringBuilder("""
                usage: edge-agent COMMAND [options]      (edge-agent COMMAND --help: that command's options)

                The Phi Edge Agent: MQTT events in, the answers of a local Phi-3 model out.

                commands:
                """);
        for (Command c : COMMANDS) {
            b.append(String.format(java.util.Locale.ROOT, "  %-7s %s%n", c.name(), c.summary()));
        }
        return b + """

                Every setting is in the configuration file (--config FILE); samples/config/example.yaml describes each
                one and the default that applies when it is left out. The demo (an embedded broker and an event
                simulator) has a jar of its own: ./scripts/demo.sh from the repository.
                exit status: 0 success, 1 the configuration or the event was refused, 2 a command-line mistake, or the
                model or the agent could not start
                """;
    }

    /** What {@code edge-agent demo} answers in the device jar. */
    static final String DEMO_MOVED = "the demo is not in this jar: it has its own, demo/target/edge-agent-demo.jar;"
            + " run ./scripts/demo.sh from the repository";

    private final Function<ModelSettings, InferenceBackend> backends;
    private final PrintStream out;
    private final PrintStream err;

    /** @param backends creates the model backend; the real program passes {@link Backends#create} */
    public EdgeAgentCli(Function<ModelSettings, InferenceBackend> backends, PrintStream out, PrintStream err) {
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
        if (args.length == 0) {
            return usage("missing COMMAND: run, check or once (see edge-agent --help)");
        }
        if (args[0].equals("--help") || args[0].equals("-h")) {
            out.print(HELP);
            return 0;
        }
        if (args[0].equals("demo")) {
            return usage(DEMO_MOVED);
        }
        if (args[0].equals("model")) {
            return dev.phiedge.agent.modelstore.ModelCommand.run(args, System.getenv(), out, err,
                    System.console() != null && System.console().isTerminal());
        }
        if (args[0].equals("selftest")) {
            return dev.phiedge.runtime.cli.SelftestCommand.main("edge-agent", args, out, err);
        }
        Optional<Command> found = COMMANDS.stream().filter(c -> c.name().equals(args[0])).findFirst();
        if (found.isEmpty()) {
            return usage("unknown command '" + args[0] + "': the commands are run, check, once, selftest and model (see edge-agent --help)");
        }
        Command command = found.get();
        String seeHelp = " (see edge-agent " + command.name() + " --help)";
        // --help anywhere an option may stand (not as an option's value, e.g. a payload "-h")
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--help") || args[i].equals("-h")) {
                out.print(command.help());
                return 0;
            }
            if (args[i].startsWith("--") && command.option(args[i].substring(2)).isPresent()) {
                i++;
            }
        }
        if (command.name().equals("help")) {
            return help(args, seeHelp);
        }
        Map<String, String> options = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                return usage("unexpected argument '" + arg + "'" + seeHelp);
            }
            Optional<Option> option = command.option(arg.substring(2));
            if (option.isEmpty()) {
                return usage("unknown option " + arg + seeHelp);
            }
            if (i + 1 >= args.length) {
                return usage("option " + arg + " needs a value: " + option.get().synopsis() + seeHelp);
            }
            options.put(option.get().name(), args[++i]);
        }
        for (Option option : command.options()) {
            if (option.required() && !options.containsKey(option.name())) {
                return usage("missing " + option.synopsis() + seeHelp);
            }
        }
        return switch (command.name()) {
            case "check" -> check(options);
            case "once" -> once(options);
            case "run" -> daemon(options);
            default -> throw new IllegalStateException(command.name());
        };
    }

    /** {@code edge-agent help [COMMAND]}. */
    private int help(String[] args, String seeHelp) {
        if (args.length == 1) {
            out.print(HELP);
            return 0;
        }
        if (args.length > 2) {
            return usage("help takes one command name at most" + seeHelp);
        }
        Optional<Command> command = COMMANDS.stream().filter(c -> c.name().equals(args[1])).findFirst();
        if (command.isEmpty()) {
            return usage("unknown command '" + args[1] + "': the commands are run, check and once (see edge-agent --help)");
        }
        out.print(command.get().help());
        return 0;
    }

    /** A command-line mistake: one line on stderr, status 2. */
    private int usage(String problem) {
        err.println("edge-agent: " + problem);
        return 2;
    }

    /** The configuration for {@code run} and {@code once}: its problems are errors, on stderr. */
    private Optional<AgentConfig> load(String file) {
        return load(file, false, err);
    }

    /**
     * @param openModel open the model with the runtime as well, as {@code check} does ({@link ConfigLoader#check})
     * @param report    where the problems go, one {@code FILE:LINE: key: problem} line each, then a summary
     */
    private Optional<AgentConfig> load(String file, boolean openModel, PrintStream report) {
        try {
            return Optional.of(openModel ? ConfigLoader.check(Path.of(file)) : ConfigLoader.load(Path.of(file)));
        } catch (ConfigException e) {
            for (ConfigProblem problem : e.problems()) {
                report.println(problem);
            }
            if (report == out) {
                out.println(e.problems().size() + " problem(s) in " + file);
            } else {
                err.println("edge-agent: " + e.problems().size() + " problem(s) in " + file
                        + "; fix them (edge-agent check --config " + file + " lists them too), nothing was started");
            }
            return Optional.empty();
        }
    }

    /**
     * Everything {@code run} would refuse at start, without starting: the configuration with its file and
     * line, feedback loops between routes, the TLS files as the connection loads them, and the model as
     * the runtime opens it. OK is printed only when all of it passes.
     */
    private int check(Map<String, String> options) {
        Optional<AgentConfig> config = load(options.get("config"), true, out);
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
            err.println("edge-agent: no route named '" + options.get("route") + "' in " + options.get("config")
                    + "; give --route one of: " + String.join(", ", all.routes().stream().map(RouteConfig::name).toList()));
            return 2;
        }
        if (!route.get().subscribe().matches(topic)) {
            err.println("edge-agent: topic '" + topic + "' does not match the route's filter '" + route.get().subscribe().text()
                    + "'; give a --topic that it matches");
            return 2;
        }
        AgentConfig config = new AgentConfig(all.source(), all.deviceId(), all.mqtt(), all.model(), List.of(route.get()),
                all.limits(), all.store(), all.statsInterval(), all.gpio(), all.frigate());
        List<OutboundMessage> errors = new ArrayList<>();
        AgentStats stats = new AgentStats();
        EventQueue queue = new EventQueue(config.routes(), (e, reason) -> err.println("edge-agent: the event was dropped: " + reason.wireName()));
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
                err.println("edge-agent: cannot load the model: " + e.getMessage());
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
            err.println("edge-agent: rejected: " + new String(error.payload(), StandardCharsets.UTF_8));
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
            err.println("edge-agent: cannot load the model: " + e.getMessage());
            return 2;
        }
        EdgeAgent agent;
        try {
            agent = new EdgeAgent(config.get(), backend);
        } catch (MqttSetupException | GpioUnavailableException | java.io.IOException e) {
            err.println("edge-agent: " + e.getMessage());
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
                err.println("edge-agent: the agent did not stop cleanly: " + e);
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
            err.println("edge-agent: the agent could not start: " + e.getMessage());
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
