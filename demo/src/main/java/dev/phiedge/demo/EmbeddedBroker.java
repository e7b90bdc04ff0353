package dev.phiedge.demo;

import com.hivemq.embedded.EmbeddedHiveMQ;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.tinylog.Logger;

/**
 * A real MQTT 5 broker inside this JVM, for the demo only (the daemon always talks to
 * the device's own broker): HiveMQ Community Edition, embedded, listening on a free port on 127.0.0.1,
 * with its configuration and data in a temporary folder that {@link #stop()} deletes.
 *
 * <p>It runs with in-memory persistence (nothing written to disk, no native storage library loaded),
 * anonymous usage statistics off, and HiveMQ's own logging bootstrap off: its SLF4J logging goes to
 * tinylog with everything else, where the default level keeps it quiet.
 */
public final class EmbeddedBroker implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private Path folder;
    private EmbeddedHiveMQ hivemq;
    private int port;

    /** Starts the broker; returns once it accepts connections. */
    public synchronized EmbeddedBroker start() throws IOException {
        if (hivemq != null) {
            throw new IllegalStateException("already started");
        }
        folder = Files.createTempDirectory("edge-agent-broker-");
        try {
            port = freePort();
            Path conf = Files.createDirectories(folder.resolve("conf"));
            Files.writeString(conf.resolve("config.xml"), config(port));
            hivemq = EmbeddedHiveMQ.builder()
                    .withConfigurationFolder(conf)
                    .withDataFolder(Files.createDirectories(folder.resolve("data")))
                    .withExtensionsFolder(Files.createDirectories(folder.resolve("extensions")))
                    .withoutLoggingBootstrap()
                    .build();
            hivemq.start().get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            Logger.info("Embedded MQTT broker listening on {}", url());
            return this;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            stop();
            throw new IOException("the embedded MQTT broker did not start: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop();
            throw new IOException("interrupted while the embedded MQTT broker was starting", e);
        }
    }

    /** {@code tcp://127.0.0.1:PORT}; valid after {@link #start()}. */
    public synchronized String url() {
        if (port == 0) {
            throw new IllegalStateException("not started");
        }
        return "tcp://127.0.0.1:" + port;
    }

    public synchronized int port() {
        return port;
    }

    /** Stops the broker and deletes its folder; safe to call twice or after a failed start. */
    public synchronized void stop() {
        if (hivemq != null) {
            try {
                hivemq.stop().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                Logger.warn("Embedded MQTT broker did not stop cleanly: {}", e.toString());
            }
            try {
                hivemq.close();
            } catch (Exception e) {
                Logger.warn("Embedded MQTT broker did not close cleanly: {}", e.toString());
            }
            hivemq = null;
        }
        if (folder != null) {
            deleteTree(folder);
            folder = null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    static String config(int port) {
        return """
                <?xml version="1.0"?>
                <hivemq>
                  <listeners>
                    <tcp-listener>
                      <port>%d</port>
                      <bind-address>127.0.0.1</bind-address>
                    </tcp-listener>
                  </listeners>
                  <persistence>
                    <mode>in-memory</mode>
                  </persistence>
                  <anonymous-usage-statistics>
                    <enabled>false</enabled>
                  </anonymous-usage-statistics>
                </hivemq>
                """.formatted(port);
    }

    /** A port nobody listens on right now (the broker binds it a moment later). */
    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | UncheckedIOException e) {
            Logger.warn("Could not delete the broker's temporary folder {}: {}", root, e.toString());
        }
    }
}
