package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * PEM certificates made at test time with the {@code openssl} command line (OpenSSL 1.1.1 or later), so
 * no key or certificate is ever committed. A test that needs them is skipped, saying why, where openssl
 * is not installed (CI's .ci/run installs it).
 */
public final class TestCertificates {

    /** A certificate and its private key (PKCS#8, "BEGIN PRIVATE KEY"), both PEM. */
    public record Issued(Path cert, Path key) {}

    private final Path dir;

    /** @param dir where the files go (a test's temporary folder) */
    public TestCertificates(Path dir) {
        assumeTrue(openssl() != null, "openssl is not installed: the TLS tests need it to make their certificates "
                + "('apt-get install openssl'; CI's .ci/run does)");
        this.dir = dir;
    }

    /** A self-signed CA (EC P-256) named {@code name}. */
    public Issued ca(String name) throws IOException, InterruptedException {
        Issued ca = new Issued(dir.resolve(name + ".pem"), dir.resolve(name + ".key"));
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ca.key().toString());
        run("req", "-x509", "-new", "-key", ca.key().toString(), "-subj", "/CN=" + name, "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", ca.cert().toString());
        return ca;
    }

    /**
     * A certificate signed by {@code ca}.
     *
     * @param keyAlgorithm {@code RSA} (2048 bits) or {@code EC} (P-256)
     * @param san          the subjectAltName, e.g. {@code IP:127.0.0.1}, or null for a client certificate
     */
    public Issued issue(Issued ca, String name, String keyAlgorithm, String san) throws IOException, InterruptedException {
        Issued out = new Issued(dir.resolve(name + ".pem"), dir.resolve(name + ".key"));
        List<String> keyArgs = switch (keyAlgorithm) {
            case "RSA" -> List.of("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048");
            case "EC" -> List.of("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256");
            default -> throw new IllegalArgumentException(keyAlgorithm);
        };
        List<String> args = new ArrayList<>(keyArgs);
        args.addAll(List.of("-out", out.key().toString()));
        run(args.toArray(String[]::new));
        Path csr = dir.resolve(name + ".csr");
        run("req", "-new", "-key", out.key().toString(), "-subj", "/CN=" + name, "-out", csr.toString());
        Path ext = dir.resolve(name + ".ext");
        Files.writeString(ext, (san != null ? "subjectAltName=" + san + "\nextendedKeyUsage=serverAuth\n"
                : "extendedKeyUsage=clientAuth\n") + "basicConstraints=CA:FALSE\n");
        run("x509", "-req", "-in", csr.toString(), "-CA", ca.cert().toString(), "-CAkey", ca.key().toString(),
                "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", out.cert().toString());
        return out;
    }

    /** The RSA key of {@code issued} rewritten as PKCS#1 ("BEGIN RSA PRIVATE KEY"), as older tools write it. */
    public Path pkcs1(Issued issued) throws IOException, InterruptedException {
        Path out = dir.resolve(issued.key().getFileName() + ".pkcs1");
        run("rsa", "-in", issued.key().toString(), "-traditional", "-out", out.toString());
        return out;
    }

    private void run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(openssl()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail(String.join(" ", command) + " failed: " + new String(output, StandardCharsets.UTF_8));
        }
    }

    private static String openssl() {
        for (String entry : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path candidate = Path.of(entry.isEmpty() ? "." : entry, "openssl");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return null;
    }
}
