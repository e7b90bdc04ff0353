package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real Mosquitto broker for tests, on a free loopback port, with persistence in a temporary folder so
 * that a stop and start keeps sessions and queued QoS 1 messages, as a production broker does.
 */
public final class MosquittoBroker implements AutoCloseable {

    private final Path executable;
    private final Path dir;
    private final Path config;
    private final int port;
    private Process process;

    private MosquittoBroker(Path executable, Path dir, int port) throws IOException {
        this.executable = executable;
        this.dir = dir;
        this.port = port;
        this.config = dir.resolve("mosquitto.conf");
        Files.writeString(config, String.join("\n",
                "listener " + port + " 127.0.0.1",
                "allow_anonymous true",
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
    }

    /** Starts a broker, or fails the test saying how to install Mosquitto. */
    public static MosquittoBroker start() throws IOException, InterruptedException {
        Path exe = find();
        Path dir = Files.createTempDirectory("mosquitto-test");
        MosquittoBroker broker = new MosquittoBroker(exe, dir, freePort());
        broker.startProcess();
        return broker;
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

    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Starts the broker again on the same port with the same persistence (after {@link #stop()}). */
    public void startProcess() throws IOException, InterruptedException {
        process = new ProcessBuilder(executable.toString(), "-c", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile())
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
