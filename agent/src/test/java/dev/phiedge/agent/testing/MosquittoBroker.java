package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real Mosquitto broker for tests, on a free loopback port, with persistence in a temporary folder so
 * that a stop and start keeps sessions and queued QoS 1 messages, as a production broker does.
 * {@link #start(Options)} gives it a TLS listener and/or a password file instead of anonymous plain TCP.
 */
public final class MosquittoBroker implements AutoCloseable {

    /**
     * A TLS listener's PEM files (mosquitto's {@code cafile}, {@code certfile}, {@code keyfile}).
     *
     * @param requireCertificate clients must present a certificate signed by {@code cafile}
     */
    public record Tls(Path cafile, Path certfile, Path keyfile, boolean requireCertificate) {}

    /**
     * How the broker listens.
     *
     * @param tls          a TLS listener (url {@code ssl://}) instead of plain TCP
     * @param passwordFile a mosquitto password file (see {@link #passwordFile}); anonymous clients are then refused
     * @param acl          the lines of a mosquitto {@code acl_file} (empty: no ACL, every topic allowed); see
     *                     {@link #allowAllExcept} for the usual shape
     */
    public record Options(Optional<Tls> tls, Optional<Path> passwordFile, List<String> acl) {
        public Options {
            acl = List.copyOf(acl);
        }

        public static Options plain() {
            return new Options(Optional.empty(), Optional.empty(), List.of());
        }

        public Options withTls(Tls listener) {
            return new Options(Optional.of(listener), passwordFile, acl);
        }

        public Options withPasswordFile(Path file) {
            return new Options(tls, Optional.of(file), acl);
        }

        /**
         * An {@code acl_file} with these lines. Mosquitto's ACLs are allow-lists: once an acl_file is set,
         * only the topics it lists are allowed; lines before any {@code user} line apply to anonymous
         * clients; {@code topic deny T} is checked before the grants (mosquitto.conf(5), acl_file).
         */
        public Options withAcl(List<String> lines) {
            return new Options(tls, passwordFile, lines);
        }
    }

    /**
     * ACL lines for anonymous clients that allow reading and writing every topic except the given ones,
     * which can be neither published nor received. A QoS 1 publish to a denied topic is answered, over
     * MQTT v5, with PUBACK reason 0x87 (not authorized); over v3.1.1 it is acknowledged and dropped.
     */
    public static List<String> allowAllExcept(String... denied) {
        List<String> lines = new ArrayList<>(List.of("topic readwrite #"));
        for (String topic : denied) {
            lines.add("topic deny " + topic);
        }
        return lines;
    }

    private final Path executable;
    private final Path dir;
    private final Path config;
    private final int port;
    private final boolean tls;
    private Process process;

    private MosquittoBroker(Path executable, Path dir, int port, Options options) throws IOException {
        this.executable = executable;
        this.dir = dir;
        this.port = port;
        this.tls = options.tls().isPresent();
        this.config = dir.resolve("mosquitto.conf");
        List<String> lines = new ArrayList<>(List.of("listener " + port + " 127.0.0.1"));
        options.tls().ifPresent(t -> lines.addAll(List.of(
                "cafile " + t.cafile().toAbsolutePath(),
                "certfile " + t.certfile().toAbsolutePath(),
                "keyfile " + t.keyfile().toAbsolutePath(),
                "require_certificate " + t.requireCertificate())));
        if (options.passwordFile().isPresent()) {
            lines.addAll(List.of("allow_anonymous false", "password_file " + options.passwordFile().get().toAbsolutePath()));
        } else {
            lines.add("allow_anonymous true");
        }
        if (!options.acl().isEmpty()) {
            Path acl = dir.resolve("acl");
            Files.writeString(acl, String.join("\n", options.acl()) + "\n");
            lines.add("acl_file " + acl.toAbsolutePath());
        }
        lines.addAll(List.of(
                // Started as root, mosquitto switches to user 'mosquitto', which cannot write our temp folder.
                "user " + System.getProperty("user.name"),
                "persistence true",
                "persistence_location " + dir.toAbsolutePath() + "/",
                "autosave_interval 1",
                "max_queued_messages 10000",
                "log_dest file " + dir.resolve("mosquitto.log").toAbsolutePath(),
                "log_type error",
                "log_type warning",
                "log_type notice",
                ""));
        Files.writeString(config, String.join("\n", lines));
    }

    /** Starts a broker (anonymous, plain TCP), or fails the test saying how to install Mosquitto. */
    public static MosquittoBroker start() throws IOException, InterruptedException {
        return start(Options.plain());
    }

    /** Starts a broker that listens as {@code options} say, or fails the test saying how to install Mosquitto. */
    public static MosquittoBroker start(Options options) throws IOException, InterruptedException {
        Path exe = find();
        Path dir = Files.createTempDirectory("mosquitto-test");
        MosquittoBroker broker = new MosquittoBroker(exe, dir, freePort(), options);
        broker.startProcess();
        return broker;
    }

    /** Writes a mosquitto password file (hashed, with mosquitto_passwd) holding one user. */
    public static Path passwordFile(Path file, String username, String password) throws IOException, InterruptedException {
        Path tool = find().resolveSibling("mosquitto_passwd");
        String exe = Files.isExecutable(tool) ? tool.toString() : "mosquitto_passwd";
        Process p = new ProcessBuilder(exe, "-c", "-b", file.toString(), username, password)
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("mosquitto_passwd failed: " + output);
        }
        return file;
    }

    private static Path find() {
        Path sbin = Path.of("/usr/sbin/mosquitto");
        if (Files.isExecutable(sbin)) {
            return sbin;
        }
        for (String entry : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(entry, "mosquitto");
            if (!entry.isEmpty() && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        fail("mosquitto is not installed (looked for /usr/sbin/mosquitto and 'mosquitto' on PATH); "
                + "install it with 'apt-get install mosquitto' (CI's .ci/run does)");
        throw new AssertionError("unreachable");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** {@code ssl://127.0.0.1:PORT} with a TLS listener, else {@code tcp://127.0.0.1:PORT}. */
    public String url() {
        return (tls ? "ssl" : "tcp") + "://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Starts the broker again on the same port with the same persistence (after {@link #stop()}). */
    public void startProcess() throws IOException, InterruptedException {
        process = new ProcessBuilder(executable.toString(), "-c", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("mosquitto exited at start with code " + process.exitValue() + ": " + logs());
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        fail("mosquitto did not listen on port " + port + " within 10 s: " + logs());
    }

    /** Stops the broker the way a service manager does (SIGTERM), so it saves its persistence file. */
    public void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    /**
     * Kills the broker with SIGKILL, as a crash or the OOM killer would: it saves nothing, so whatever it
     * acknowledged since its last autosave (every second here) is gone. {@link #startProcess()} restarts
     * it on the same port from what it had saved.
     */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                fail("mosquitto (pid " + process.pid() + ") did not die within 10 s of SIGKILL");
            }
        }
    }

    /**
     * Makes the broker write its persistence file now (SIGUSR1, mosquitto(8)) and waits until it has
     * (the file is replaced), so that a {@link #kill()} right after loses only what happens in between.
     */
    public void save() throws IOException, InterruptedException {
        Path db = dir.resolve("mosquitto.db");
        Object before = Files.exists(db) ? Files.readAttributes(db, "unix:ino,lastModifiedTime") : null;
        Process kill = new ProcessBuilder("kill", "-USR1", Long.toString(process.pid())).redirectErrorStream(true).start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            fail("kill -USR1 " + process.pid() + " failed: " + new String(kill.getInputStream().readAllBytes()));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            if (Files.exists(db) && !Files.readAttributes(db, "unix:ino,lastModifiedTime").equals(before)) {
                return;
            }
            Thread.sleep(5);
        }
        fail("mosquitto did not write " + db + " within 5 s of SIGUSR1: " + logs());
    }

    /** Same as {@link #startProcess()}: the same port, the same persistence folder. */
    public void restart() throws IOException, InterruptedException {
        startProcess();
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Mosquitto's exit code after {@link #stop()} or {@link #kill()} (143/137 when it died of the signal). */
    public int exitCode() {
        return process.exitValue();
    }

    /** The last {@code lines} lines of the broker's log, for a test's output when something went missing. */
    public String logTail(int lines) {
        List<String> all = logs().lines().toList();
        return "--- mosquitto log (last " + lines + " lines):\n"
                + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size())) + "\n---";
    }

    public String logs() {
        try {
            return Files.readString(dir.resolve("mosquitto.log")) + Files.readString(dir.resolve("stdout.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
