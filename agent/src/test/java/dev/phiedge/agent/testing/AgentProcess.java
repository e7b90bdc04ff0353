package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.common.MqttException;

/**
 * The real agent ({@code EdgeAgentCli run --config FILE}) as a child JVM, so that a test can do to it what
 * happens to a device: {@link #kill9()} (a power cut, the OOM killer), {@link #sigterm()} (systemctl stop),
 * {@link #restart()} (the service coming back with the same configuration and store).
 *
 * <p>The child runs the JDK that runs the tests ({@code ProcessHandle.current().info().command()}), with
 * the tests' class path and the project's JVM options plus per-test extras such as {@code -Xmx128m
 * -XX:+ExitOnOutOfMemoryError}. Its stdout and stderr go to one log file, appended across restarts; the
 * tail of it goes into assertion messages ({@link #describe()}).
 *
 * <p>Online detection: the agent publishes a retained {@code online} on {@code <topic_prefix>/<device_id>/status}
 * after it has connected and subscribed. A retained {@code online} left by an earlier run (one killed
 * before its Last Will fired, say) would look the same to a late subscriber, so a watcher (a
 * {@link ResilientClient} with a persistent session, on the broker itself) subscribes to the status topic
 * <em>before</em> the first launch and stays, and {@link #awaitOnline(Duration)} takes only a live (not
 * retained) {@code online} that arrived after the latest launch.
 *
 * <p>Every child still alive when the test JVM exits is killed by a shutdown hook; {@link #close()}
 * kills it at once (tests use try-with-resources).
 */
public final class AgentProcess implements AutoCloseable {

    /**
     * The project's JVM options (see the root pom's jvm.modules), plus the serial GC for a small heap and
     * the built-in kernel rules (no kernel measurement at start-up, the same kernels on every machine).
     */
    public static final List<String> BASE_JVM_OPTIONS = List.of(
            "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
            "-Dphiedge.kernels=rules");
    public static final String MAIN_CLASS = "dev.phiedge.agent.cli.EdgeAgentCli";
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "agent-process-reaper"));
    }

    /** A status message as the watcher saw it. */
    private record Status(String text, boolean retained, long arrivedNanos) {}

    private final String name;
    private final Path config;
    private final List<String> jvmExtras;
    private final Path log;
    private final String statusTopic;
    private final ResilientClient watcher;
    /** Status messages since the latest launch, in arrival order. */
    private final List<Status> statuses = new ArrayList<>();
    /** How many of {@link #statuses} {@link #awaitOnline} has looked past. */
    private int onlineCursor;
    private Process process;
    private long launchedNanos;
    private int launches;

    private AgentProcess(String name, Path config, List<String> jvmExtras, String statusUrl, String statusTopic)
            throws MqttException {
        this.name = name;
        this.config = config.toAbsolutePath();
        this.jvmExtras = List.copyOf(jvmExtras);
        this.log = this.config.resolveSibling(name + ".log");
        this.statusTopic = statusTopic;
        this.watcher = watcher(statusUrl, name);
    }

    /**
     * Starts the agent on {@code config} and a watcher of its status topic (on {@code statusUrl}, the
     * broker itself, not a proxy the agent may be going through); the log is {@code <name>.log} next to
     * the configuration file.
     */
    public static AgentProcess start(String name, Path config, String statusUrl, String statusTopic,
                                     List<String> jvmExtras) throws IOException, MqttException {
        AgentProcess agent = new AgentProcess(name, config, jvmExtras, statusUrl, statusTopic);
        try {
            agent.launch();
        } catch (IOException | RuntimeException e) {
            agent.close();
            throw e;
        }
        return agent;
    }

    /**
     * A persistent session on the status topic: the broker queues an {@code online} published while the
     * watcher is reconnecting (after a broker restart) and delivers it live, not retained.
     */
    private ResilientClient watcher(String url, String id) throws MqttException {
        ResilientClient client = new ResilientClient(url, "watch-" + id + "-" + ProcessHandle.current().pid(), (topic, message) -> {
            synchronized (statuses) {
                statuses.add(new Status(new String(message.getPayload(), StandardCharsets.UTF_8), message.isRetained(),
                        System.nanoTime()));
                statuses.notifyAll();
            }
        });
        client.subscribe(statusTopic);
        return client;
    }

    private List<String> command() {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(BASE_JVM_OPTIONS);
        // The agent's own logging (info, console); the test class path would give it tinylog-test.properties (warn).
        command.add("-Dtinylog.configuration=tinylog.properties");
        command.addAll(jvmExtras);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), MAIN_CLASS, "run", "--config", config.toString()));
        return command;
    }

    private void launch() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is still running (pid " + process.pid() + ")");
        }
        launches++;
        List<String> command = command();
        // The whole command, class path included, to rerun the agent by hand: sh <name>.command
        Files.writeString(log.resolveSibling(name + ".command"), command.stream()
                .map(a -> "'" + a.replace("'", "'\\''") + "'").collect(java.util.stream.Collectors.joining(" ")) + "\n");
        Files.writeString(log, "=== " + name + " launch " + launches + " at " + java.time.Instant.now() + ": "
                        + String.join(" ", command.stream().map(a -> a.length() > 200 ? a.substring(0, 60) + "..." : a).toList()) + "\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        synchronized (statuses) {
            statuses.clear();
            onlineCursor = 0;
            launchedNanos = System.nanoTime();
        }
        process = new ProcessBuilder(command)
                .directory(config.getParent().toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        LIVE.add(process);
    }

    /** Starts the agent again with the same configuration (and so the same store), after a kill or a stop. */
    public void restart() throws IOException {
        launch();
    }

    /**
     * Waits for a live {@code online} on the status topic published since the latest launch and not yet
     * taken by an earlier call (so after a broker restart, the next call waits for the reconnect's).
     * Fails with the log's tail when the agent exits or the time is up.
     *
     * @return the time from the latest launch to that {@code online}
     */
    public Duration awaitOnline(Duration timeout) throws InterruptedException {
        java.util.Optional<Duration> online = tryAwaitOnline(timeout);
        if (online.isEmpty()) {
            fail(name + (process.isAlive() ? " published no 'online' on " + statusTopic + " within " + timeout.toSeconds() + " s"
                    : " exited with code " + process.exitValue() + " before going online") + "\n" + describe());
        }
        return online.get();
    }

    /**
     * As {@link #awaitOnline}, but empty instead of failing, for a test that goes on to count what a
     * missing reconnect cost.
     */
    public java.util.Optional<Duration> tryAwaitOnline(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            synchronized (statuses) {
                while (onlineCursor < statuses.size()) {
                    Status s = statuses.get(onlineCursor++);
                    if (!s.retained() && s.text().equals("online") && s.arrivedNanos() >= launchedNanos) {
                        return java.util.Optional.of(Duration.ofNanos(s.arrivedNanos() - launchedNanos));
                    }
                }
                statuses.wait(50);
            }
            if (!process.isAlive()) {
                return java.util.Optional.empty();
            }
        }
        return java.util.Optional.empty();
    }

    /** True when a live {@code offline} (the Last Will, or a clean stop) arrived since the latest launch. */
    public boolean sawOffline() {
        synchronized (statuses) {
            return statuses.stream().anyMatch(s -> !s.retained() && s.text().equals("offline"));
        }
    }

    /** SIGKILL ({@link Process#destroyForcibly()} on Linux): nothing runs in the agent, no hook, no offline. */
    public int kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            fail(name + " (pid " + process.pid() + ") survived SIGKILL for 10 s");
        }
        LIVE.remove(process);
        return process.exitValue();
    }

    /**
     * SIGTERM ({@link Process#destroy()} on Linux), as systemctl stop sends, then waits up to {@code grace}
     * (systemd's TimeoutStopSec) for the exit; past it, SIGKILL as systemd would, and -1 is returned.
     *
     * @return the exit status; 143 is the JVM's when it dies of the signal (128 + 15)
     */
    public int sigterm(Duration grace) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
            LIVE.remove(process);
            return -1;
        }
        LIVE.remove(process);
        return process.exitValue();
    }

    /** {@link #sigterm(Duration)} with 30 s of grace. */
    public int sigterm() throws InterruptedException {
        return sigterm(Duration.ofSeconds(30));
    }

    /** Waits up to {@code timeout} for the agent to exit by itself; its exit status, or empty while it runs. */
    public java.util.OptionalInt awaitExit(Duration timeout) throws InterruptedException {
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            LIVE.remove(process);
            return java.util.OptionalInt.of(process.exitValue());
        }
        return java.util.OptionalInt.empty();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The exit status of the latest launch (it must have exited). */
    public int exitValue() {
        return process.exitValue();
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    public String name() {
        return name;
    }

    /** The whole log so far (every launch). */
    public String logText() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    /** The last {@code lines} lines of the log, each cut to 400 characters. */
    public String logTail(int lines) {
        List<String> all = logText().lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()).stream()
                .map(l -> l.length() > 400 ? l.substring(0, 400) + "..." : l).toList());
    }

    /** For assertion messages: the state and the log's tail. */
    public String describe() {
        String state = process == null ? "never started" : process.isAlive() ? "running, pid " + process.pid()
                : "exited with code " + process.exitValue();
        return "--- " + name + " (" + state + "), last lines of " + log + ":\n" + logTail(40) + "\n---";
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (process != null) {
            LIVE.remove(process);
        }
        watcher.close();
    }
}
