package dev.phiedge.agent.modelstore;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code edge-agent model pull} against a real HTTP server on loopback that serves ranges: Debian's nginx
 * (nginx-light), started here with a configuration of its own, serving two real GGUF models (the shared
 * test data's phi3-tiny Q4_0, 12.8 MB, and the repository's demo model). Between the pull and nginx a relay
 * that the test owns cuts connections mid-file. Expected digests are computed here from the served files.
 * Without nginx the tests are skipped with the reason, except in CI (.ci/run installs it).
 */
class ModelPullTest {
    private static Path root;
    private static Process nginx;
    private static int port;
    private static Path tiny;
    private static Path demo;
    private static String tinySha;
    private static String demoSha;
    private static final String ZEROS = "0".repeat(64);

    @BeforeAll
    static void startNginx() throws Exception {
        Path exe = Path.of("/usr/sbin/nginx");
        if (!Files.isExecutable(exe)) {
            String reason = "nginx is not installed (apt-get install nginx-light; CI's .ci/run installs it)";
            if (System.getenv("CI") != null || System.getenv("PHIEDGE_CI") != null) fail(reason);
            System.out.println("ModelPullTest skipped: " + reason);
            Assumptions.abort(reason);
        }
        tiny = Path.of(System.getProperty("phiedge.shared", "../../shared"), "testdata/phi3-tiny/phi3-tiny-a.Q4_0.gguf").toAbsolutePath();
        demo = Path.of("..", "samples", "models", "phi3-edge-demo.Q4_0.gguf").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(tiny), "the shared test data: " + tiny);
        assertTrue(Files.isRegularFile(demo), "the demo model: " + demo);
        tinySha = sha256(tiny);
        demoSha = sha256(demo);
        root = Files.createTempDirectory("nginx-pull");
        Path www = Files.createDirectories(root.resolve("www/files"));
        Files.createSymbolicLink(www.resolve("phi3-tiny.gguf"), tiny);
        Files.createSymbolicLink(www.resolve("demo.gguf"), demo);
        Files.write(www.resolve("not-a-model.gguf"), "these bytes are not a GGUF file".repeat(1000).getBytes(StandardCharsets.UTF_8));
        Files.createDirectories(root.resolve("tmp"));
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String conf = """
                daemon off;
                master_process off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log;
                events { worker_connections 64; }
                http {
                    access_log %1$s/access.log;
                    client_body_temp_path %1$s/tmp/body;
                    proxy_temp_path %1$s/tmp/proxy;
                    fastcgi_temp_path %1$s/tmp/fastcgi;
                    uwsgi_temp_path %1$s/tmp/uwsgi;
                    scgi_temp_path %1$s/tmp/scgi;
                    default_type application/octet-stream;
                    keepalive_timeout 0;
                    absolute_redirect off;
                    server {
                        listen 127.0.0.1:%2$d;
                        root %1$s/www;
                        # as huggingface.co/.../resolve/...: a redirect to the file that carries its SHA-256
                        location = /resolve/phi3-tiny.gguf { add_header X-Linked-Etag "\\"%3$s\\"" always; return 302 /files/phi3-tiny.gguf; }
                        location = /resolve/wrong/phi3-tiny.gguf { add_header X-Linked-Etag "\\"%4$s\\"" always; return 302 /files/phi3-tiny.gguf; }
                        location /files/ { }
                    }
                }
                """.formatted(root, port, tinySha, ZEROS);
        Files.writeString(root.resolve("nginx.conf"), conf);
        nginx = new ProcessBuilder(exe.toString(), "-p", root.toString(), "-c", root.resolve("nginx.conf").toString(), "-e",
                root.resolve("error.log").toString()).redirectErrorStream(true).redirectOutput(root.resolve("nginx.out").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                break;
            } catch (IOException e) {
                if (!nginx.isAlive() || System.nanoTime() > deadline) {
                    fail("nginx did not start: " + Files.readString(root.resolve("nginx.out")) + read(root.resolve("error.log")));
                }
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    static void stopNginx() throws Exception {
        if (nginx != null) {
            nginx.destroy();
            if (!nginx.waitFor(5, TimeUnit.SECONDS)) nginx.destroyForcibly();
        }
        if (root != null) {
            try (var files = Files.walk(root)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "";
        }
    }

    static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(Files.readAllBytes(p));
        return HexFormat.of().formatHex(md.digest());
    }

    record Run(int status, String out, String err) {}

    private static Run pull(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        List<String> all = new ArrayList<>(List.of("model", "pull"));
        all.addAll(List.of(args));
        System.setProperty("phiedge.pull.retryDelaySeconds", "0");
        int status = ModelCommand.run(all.toArray(String[]::new), env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), false);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Run pull(String... args) {
        return pull(Map.of(), args);
    }

    private static String url(int port, String path) {
        return "http://127.0.0.1:" + port + path;
    }

    private static Path current(Path dir) throws IOException {
        return Files.readSymbolicLink(dir.resolve("current.gguf"));
    }

    /** A cut mid-file ends the first run with the part kept; the second run resumes it with a Range request. */
    @Test
    void aCutConnectionIsResumedByTheNextRunWithARangeRequest(@TempDir Path dir) throws Exception {
        long size = Files.size(tiny);
        try (TcpRelay relay = TcpRelay.to(port, 1, 5_000_000)) {
            String u = url(relay.port(), "/files/phi3-tiny.gguf");
            Run first = pull(u, "--sha256", tinySha, "--dir", dir.toString(), "--retries", "0");
            assertEquals(1, first.status(), first.out() + first.err());
            assertTrue(first.err().contains("the download stopped at") && first.err().contains("run the same command again to resume"),
                    first.err());
            Path partial = dir.resolve("phi3-tiny.gguf.partial");
            long have = Files.size(partial);
            assertTrue(have > 0 && have < size, "part of " + have + " bytes of " + size);
            assertFalse(Files.exists(dir.resolve("current.gguf"), java.nio.file.LinkOption.NOFOLLOW_LINKS));

            Run second = pull(u, "--sha256", tinySha, "--dir", dir.toString(), "--retries", "0");
            assertEquals(0, second.status(), second.out() + second.err());
            List<String> gets = relay.requestsStartingWith("GET /files/phi3-tiny.gguf ");
            assertEquals(2, gets.size(), String.join("\n", gets));
            assertFalse(gets.get(0).toLowerCase().contains("\r\nrange:"), gets.get(0));
            assertTrue(gets.get(1).contains("\r\nRange: bytes=" + have + "-\r\n"), gets.get(1));
            assertTrue(gets.get(1).contains("\r\nIf-Range: "), "the resume names the part's version: " + gets.get(1));
            assertEquals(List.of("HTTP/1.1 200 OK", "HTTP/1.1 206 Partial Content"), relay.statusLines);
        }
        assertEquals(tinySha, sha256(dir.resolve("phi3-tiny.gguf")));
        assertEquals(Path.of("phi3-tiny.gguf"), current(dir));
        assertFalse(Files.exists(dir.resolve("phi3-tiny.gguf.partial")));
        assertFalse(Files.exists(dir.resolve("phi3-tiny.gguf.partial.meta")));
    }

    /** Within one run: cut twice, resumed twice, complete. */
    @Test
    void retriesResumeWithinOneRun(@TempDir Path dir) throws Exception {
        try (TcpRelay relay = TcpRelay.to(port, 2, 3_000_000)) {
            Run r = pull(url(relay.port(), "/files/phi3-tiny.gguf"), "--sha256", tinySha, "--dir", dir.toString(), "--retries", "3");
            assertEquals(0, r.status(), r.out() + r.err());
            assertEquals(2, r.out().lines().filter(l -> l.startsWith("the transfer stopped at")).count(), r.out());
            List<String> gets = relay.requestsStartingWith("GET ");
            assertEquals(3, gets.size());
            assertTrue(gets.get(1).contains("Range: bytes=") && gets.get(2).contains("Range: bytes="), String.join("\n", gets));
        }
        assertEquals(tinySha, sha256(dir.resolve("phi3-tiny.gguf")));
        assertEquals(Path.of("phi3-tiny.gguf"), current(dir));
    }

    @Test
    void aMissingFileIsA404InWords(@TempDir Path dir) {
        Run r = pull(url(port, "/files/no-such-model.gguf"), "--sha256", ZEROS, "--dir", dir.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().startsWith("edge-agent: not found (HTTP 404): http://127.0.0.1:" + port + "/files/no-such-model.gguf"), r.err());
        assertFalse(Files.exists(dir.resolve("no-such-model.gguf.partial")));
    }

    /** A wrong digest: the download is deleted, current.gguf still names the previous model, which stays. */
    @Test
    void aWrongDigestSwitchesNothingAndKeepsThePreviousModel(@TempDir Path dir) throws Exception {
        Run good = pull(url(port, "/files/demo.gguf"), "--sha256", demoSha, "--dir", dir.toString());
        assertEquals(0, good.status(), good.out() + good.err());
        assertEquals(Path.of("demo.gguf"), current(dir));

        Run bad = pull(url(port, "/files/phi3-tiny.gguf"), "--sha256", ZEROS, "--dir", dir.toString());
        assertEquals(1, bad.status(), bad.out() + bad.err());
        assertTrue(bad.err().contains("SHA-256 mismatch for phi3-tiny.gguf: expected " + ZEROS + " (--sha256), the download has " + tinySha)
                && bad.err().contains("current.gguf still points at demo.gguf"), bad.err());
        assertEquals(Path.of("demo.gguf"), current(dir));
        assertEquals(demoSha, sha256(dir.resolve("current.gguf")));
        assertFalse(Files.exists(dir.resolve("phi3-tiny.gguf")));
        assertFalse(Files.exists(dir.resolve("phi3-tiny.gguf.partial")));

        // then the right one: switched, and the previous model stays
        Run next = pull(url(port, "/files/phi3-tiny.gguf"), "--sha256", tinySha, "--dir", dir.toString());
        assertEquals(0, next.status(), next.out() + next.err());
        assertEquals(Path.of("phi3-tiny.gguf"), current(dir));
        assertTrue(next.out().contains("the previous model, demo.gguf, stays in"), next.out());
        assertEquals(demoSha, sha256(dir.resolve("demo.gguf")));
    }

    /** No --sha256 and no pin: the digest of X-Linked-Etag on the redirect, as Hugging Face sends it. */
    @Test
    void theServersLinkedEtagIsTheDigestWhenNoneIsGiven(@TempDir Path dir) throws Exception {
        Run r = pull(url(port, "/resolve/phi3-tiny.gguf"), "--dir", dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("SHA-256 " + tinySha + ": the server's X-Linked-Etag"), r.out());
        assertEquals(Path.of("phi3-tiny.gguf"), current(dir));

        Path other = Files.createDirectory(dir.resolve("other"));
        Run wrong = pull(url(port, "/resolve/wrong/phi3-tiny.gguf"), "--dir", other.toString());
        assertEquals(1, wrong.status(), wrong.out() + wrong.err());
        assertTrue(wrong.err().contains("SHA-256 mismatch") && wrong.err().contains("(the server's X-Linked-Etag)"), wrong.err());
        assertFalse(Files.exists(other.resolve("current.gguf"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    /** No digest known at all: stop, keep the part; with --sha256 the next run finishes without fetching it again (416). */
    @Test
    void withoutAnyDigestThePullStopsAndTheNextRunWithOneFinishes(@TempDir Path dir) throws Exception {
        try (TcpRelay relay = TcpRelay.to(port, 0, 0)) {
            String u = url(relay.port(), "/files/phi3-tiny.gguf");
            Run r = pull(u, "--dir", dir.toString());
            assertEquals(1, r.status());
            assertTrue(r.err().contains("no SHA-256 to check phi3-tiny.gguf against") && r.err().contains("--sha256 HEX"), r.err());
            assertEquals(Files.size(tiny), Files.size(dir.resolve("phi3-tiny.gguf.partial")));
            Run again = pull(u, "--sha256", tinySha, "--dir", dir.toString());
            assertEquals(0, again.status(), again.out() + again.err());
            assertTrue(again.out().contains("phi3-tiny.gguf.partial is complete already"), again.out());
            assertEquals(List.of("HTTP/1.1 200 OK", "HTTP/1.1 416 Requested Range Not Satisfiable"), relay.statusLines);
            assertTrue(relay.requests.get(1).contains("Range: bytes=" + Files.size(tiny) + "-"), relay.requests.get(1));
        }
        assertEquals(Path.of("phi3-tiny.gguf"), current(dir));
        assertEquals(tinySha, sha256(dir.resolve("phi3-tiny.gguf")));
    }

    /** Not enough space, with --min-free beyond the disk, and (as root) on a real 4 MB tmpfs. */
    @Test
    void aFullDiskIsRefusedBeforeAnyByteIsWritten(@TempDir Path dir) throws Exception {
        Run r = pull(url(port, "/files/phi3-tiny.gguf"), "--sha256", tinySha, "--dir", dir.toString(), "--min-free", "1000000T");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("not enough free space in " + dir + ": the model needs 12.8 MB more"), r.err());
        assertFalse(Files.exists(dir.resolve("phi3-tiny.gguf.partial")) && Files.size(dir.resolve("phi3-tiny.gguf.partial")) > 0);

        Path small = Files.createDirectory(dir.resolve("tmpfs"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small.toString()).redirectErrorStream(true).start();
        String said = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (mount.waitFor() != 0) {
            System.out.println("ModelPullTest: the 4 MB tmpfs part is skipped: mount failed (" + said.strip() + ")");
            return;
        }
        try {
            Run full = pull(url(port, "/files/phi3-tiny.gguf"), "--sha256", tinySha, "--dir", small.toString(), "--min-free", "0");
            assertEquals(1, full.status());
            assertTrue(full.err().contains("not enough free space in " + small), full.err());
        } finally {
            new ProcessBuilder("umount", small.toString()).start().waitFor();
        }
    }

    /** A file with the right digest that is no GGUF model: not switched to. */
    @Test
    void aFileThatIsNotAModelIsNotSwitchedTo(@TempDir Path dir) throws Exception {
        String sha = sha256(root.resolve("www/files/not-a-model.gguf"));
        Run r = pull(url(port, "/files/not-a-model.gguf"), "--sha256", sha, "--dir", dir.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("not-a-model.gguf is not a GGUF model file") && r.err().contains("current.gguf was not changed"), r.err());
        assertFalse(Files.exists(dir.resolve("current.gguf"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    /** HTTP_PROXY from the environment: the request goes to the proxy, in absolute form. */
    @Test
    void theProxyOfTheEnvironmentIsUsed(@TempDir Path dir) throws Exception {
        try (TcpRelay proxy = TcpRelay.proxy()) {
            Run r = pull(Map.of("HTTP_PROXY", "http://127.0.0.1:" + proxy.port()), url(port, "/files/phi3-tiny.gguf"), "--sha256", tinySha,
                    "--dir", dir.toString());
            assertEquals(0, r.status(), r.out() + r.err());
            assertTrue(r.out().contains("through the proxy 127.0.0.1/<unresolved>:" + proxy.port())
                    || r.out().contains("through the proxy 127.0.0.1:" + proxy.port()), r.out());
            assertEquals(1, proxy.requestsStartingWith("GET http://127.0.0.1:" + port + "/files/phi3-tiny.gguf HTTP/1.1").size(),
                    String.join("\n", proxy.requests));
        }
        assertEquals(tinySha, sha256(dir.resolve("phi3-tiny.gguf")));
    }

    /** HTTPS_PROXY for https, HTTP_PROXY for http, lower case too, NO_PROXY hosts and suffixes go direct. */
    @Test
    void proxiesAreChosenAsCurlChoosesThem() {
        EnvironmentProxies p = EnvironmentProxies.from(Map.of("https_proxy", "http://user:pw@proxy.lan:3128", "HTTP_PROXY", "proxy.lan",
                "NO_PROXY", "localhost,.internal,example.org"));
        assertEquals(new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved("proxy.lan", 3128)),
                p.select(URI.create("https://huggingface.co/x.gguf")).getFirst());
        assertEquals(new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved("proxy.lan", 80)),
                p.select(URI.create("http://mirror.lan/x.gguf")).getFirst());
        for (String direct : List.of("https://localhost/x", "https://files.internal/x", "https://example.org/x", "https://cdn.example.org/x")) {
            assertEquals(Proxy.NO_PROXY, p.select(URI.create(direct)).getFirst(), direct);
        }
        assertTrue(p.authenticator() != null);
        assertEquals(Proxy.NO_PROXY, EnvironmentProxies.from(Map.of()).select(URI.create("https://huggingface.co/x")).getFirst());
    }

    @Test
    void listShowsTheCatalogueAndUsageErrorsSayWhat() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8), e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(0, ModelCommand.run(new String[] {"model", "list"}, Map.of(), o, e, false));
        String list = out.toString(StandardCharsets.UTF_8);
        for (String name : List.of("phi-3-mini-4k-q4", "phi-3.5-mini-q4_k_m", "phi-3.5-mini-q4_0")) {
            assertTrue(list.lines().anyMatch(l -> l.startsWith(name + " ")), name + " in\n" + list);
        }
        assertTrue(list.contains("https://huggingface.co/microsoft/Phi-3-mini-4k-instruct-gguf/resolve/main/Phi-3-mini-4k-instruct-q4.gguf"), list);
        assertEquals(2, ModelCommand.run(new String[] {"model", "pull"}, Map.of(), o, e, false));
        assertEquals(2, ModelCommand.run(new String[] {"model", "pull", "x", "--min-free", "lots", "--dir", "/tmp"}, Map.of(), o, e, false));
        assertEquals(2, ModelCommand.run(new String[] {"model", "frob"}, Map.of(), o, e, false));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("edge-agent: --min-free: not a size: lots"), err.toString());
        assertEquals(1, ModelCommand.run(new String[] {"model", "pull", "no-such-model", "--dir", "/tmp"}, Map.of(), o, e, false));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("'no-such-model' is neither a model of the catalogue nor an http(s) URL"));
    }

    /** The bar on a terminal: bytes, percentage, rate and time left, redrawn in place. */
    @Test
    void theProgressBarShowsBytesRateAndTimeLeft() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ModelPull.Progress p = new ModelPull.Progress(new PrintStream(out, true, StandardCharsets.UTF_8), true, 0, 2_000_000_000L);
        Thread.sleep(250);
        p.update(500_000_000L);
        p.end();
        String bar = out.toString(StandardCharsets.UTF_8);
        assertTrue(bar.startsWith("\r[#######.......................] 500.0 MB / 2.00 GB 25%  "), bar);
        assertTrue(bar.contains("MB/s") || bar.contains("GB/s"), bar);
        assertTrue(bar.contains(" left"), bar);
    }
}
