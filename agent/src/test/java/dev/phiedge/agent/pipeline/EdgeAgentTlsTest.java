package dev.phiedge.agent.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.phiedge.agent.backend.RuntimeBackend;
import dev.phiedge.agent.cli.EdgeAgentCli;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigException;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.tls.PemTls;
import dev.phiedge.agent.tls.TlsConfig;
import dev.phiedge.agent.testing.BrokerAndModel;
import dev.phiedge.agent.testing.GatedBackend;
import dev.phiedge.agent.testing.MosquittoBroker;
import dev.phiedge.agent.testing.SharedData;
import dev.phiedge.agent.testing.TestCertificates;
import dev.phiedge.agent.testing.TestCertificates.Issued;
import dev.phiedge.agent.testing.TestClient;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon over TLS against real Mosquitto TLS listeners, with certificates made by openssl at run time
 * (PEM, PKCS#8 keys, the server's with subjectAltName IP:127.0.0.1) and the real demo model answering the
 * demo's greenhouse route. Refusals are checked too: a broker certificate from another CA or for another
 * host, a PKCS#1 key, a wrong password; and the password never shows in the logs or in {@code check}.
 */
class EdgeAgentTlsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USER = "greenhouse-7";
    private static final String PASSWORD = "pw-" + UUID.randomUUID();

    @TempDir
    static Path certs;
    @TempDir
    Path dir;

    private static Issued ca;
    private static Issued otherCa;
    private static Issued rsaClient;
    private static Issued ecClient;
    private static MosquittoBroker mutualTls;
    private static MosquittoBroker login;
    private static MosquittoBroker wrongHost;
    private static RuntimeBackend model;

    @BeforeAll
    static void brokersAndModel() throws Exception {
        TestCertificates openssl = new TestCertificates(certs);
        ca = openssl.ca("test-ca");
        otherCa = openssl.ca("other-ca");
        Issued server = openssl.issue(ca, "broker", "RSA", "IP:127.0.0.1,DNS:localhost");
        Issued elsewhere = openssl.issue(ca, "broker-elsewhere", "EC", "DNS:broker.invalid");
        rsaClient = openssl.issue(ca, "client-rsa", "RSA", null);
        ecClient = openssl.issue(ca, "client-ec", "EC", null);
        MosquittoBroker.Options plain = MosquittoBroker.Options.plain();
        mutualTls = MosquittoBroker.start(plain.withTls(new MosquittoBroker.Tls(ca.cert(), server.cert(), server.key(), true)));
        login = MosquittoBroker.start(plain.withTls(new MosquittoBroker.Tls(ca.cert(), server.cert(), server.key(), false))
                .withPasswordFile(MosquittoBroker.passwordFile(certs.resolve("passwd"), USER, PASSWORD)));
        wrongHost = MosquittoBroker.start(plain.withTls(
                new MosquittoBroker.Tls(ca.cert(), elsewhere.cert(), elsewhere.key(), false)));
        model = RuntimeBackend.load(BrokerAndModel.DEMO_MODEL, BrokerAndModel.CONTEXT, Runtime.getRuntime().availableProcessors());
    }

    @AfterAll
    static void stop() throws Exception {
        if (model != null) {
            model.close();
        }
        for (MosquittoBroker broker : new MosquittoBroker[] {mutualTls, login, wrongHost}) {
            if (broker != null) {
                broker.close();
            }
        }
    }

    /** samples/config/demo.yaml (routes verbatim) with {@code mqttLines} in place of its url. */
    private Path config(String device, String mqttLines) throws Exception {
        String yaml = Files.readString(SharedData.repoRoot().resolve("samples/config/demo.yaml"));
        for (String[] r : new String[][] {{"device_id: demo", "device_id: " + device},
                {"  url: tcp://127.0.0.1:1883", mqttLines + "\n  reconnect_initial_ms: 100\n  reconnect_max_s: 1"},
                {"path: ../models/phi3-edge-demo.Q4_0.gguf", "path: " + BrokerAndModel.DEMO_MODEL}}) {
            assertTrue(yaml.contains(r[0]), "samples/config/demo.yaml no longer contains: " + r[0]);
            yaml = yaml.replace(r[0], r[1]);
        }
        Path file = dir.resolve(device + ".yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private static String tls(MosquittoBroker broker, Path caFile, Issued client, Path key) {
        return "  url: " + broker.url() + "\n  tls:\n    ca: " + caFile
                + (client == null ? "" : "\n    cert: " + client.cert() + "\n    key: " + key);
    }

    /** The test's own client: trusts the test CA and, for the mutual-TLS broker, presents the RSA client certificate. */
    private static TestClient client(MosquittoBroker broker, String id, boolean login) throws Exception {
        TlsConfig tls = new TlsConfig(Optional.of(ca.cert()), Optional.of(rsaClient.cert()), Optional.of(rsaClient.key()));
        var factory = PemTls.socketFactory(tls);
        return new TestClient(broker.url(), id, o -> {
            o.setSocketFactory(factory);
            if (login) {
                o.setUserName(USER);
                o.setPassword(PASSWORD.getBytes(StandardCharsets.UTF_8));
            }
        });
    }

    /** Publishes a critical greenhouse reading and returns the agent's assessment of it. */
    private static JsonNode classify(TestClient client, String device, String id) throws Exception {
        client.subscribe("greenhouse/+/climate/assessment");
        client.publish("greenhouse/6/climate", "{\"id\": \"" + id + "\", \"temperature\": 44.0, \"humidity\": 60, "
                + "\"soil_moisture\": 40, \"co2\": 800}");
        JsonNode result = JSON.readTree(client.await(r -> r.topic().equals("greenhouse/6/climate/assessment")
                && r.text().contains("\"" + id + "\""), WAIT, "the assessment of " + id).payload());
        assertEquals("critical", result.get("label").textValue(), "temperature >= 40 is critical: " + result);
        assertEquals(device, result.get("device").textValue());
        assertEquals("phi3-edge-demo.Q4_0", result.get("model").textValue());
        return result;
    }

    /** Runs an agent on the config file until {@code body} is done; returns what it logged (warnings and errors). */
    private static String runAgent(Path file, AgentBody body) throws Exception {
        AgentConfig config = ConfigLoader.load(file);
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        // tinylog's console writer looks System.out and System.err up for every entry: tee them.
        System.setOut(new PrintStream(tee(out, log), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(tee(err, log), true, StandardCharsets.UTF_8));
        try (EdgeAgent agent = new EdgeAgent(config, GatedBackend.open(model))) {
            agent.start();
            body.run(agent, () -> log.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return log.toString(StandardCharsets.UTF_8);
    }

    interface AgentBody {
        void run(EdgeAgent agent, java.util.function.Supplier<String> logSoFar) throws Exception;
    }

    private static OutputStream tee(OutputStream a, OutputStream b) {
        return new OutputStream() {
            @Override
            public synchronized void write(int c) throws java.io.IOException {
                a.write(c);
                b.write(c);
            }

            @Override
            public synchronized void write(byte[] bytes, int off, int len) throws java.io.IOException {
                a.write(bytes, off, len);
                b.write(bytes, off, len);
            }
        };
    }

    /** {@code edge-agent check}: exit status and everything it printed. */
    private static Object[] check(Path file) {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream stream = new PrintStream(printed, true, StandardCharsets.UTF_8);
        int status = new EdgeAgentCli(m -> { throw new AssertionError("check loads no model"); }, stream, stream)
                .run("check", "--config", file.toString());
        return new Object[] {status, printed.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void mutualTlsWithRsaAndEcPkcs8KeysProcessesEventsWithTheDemoModel() throws Exception {
        for (Issued key : new Issued[] {rsaClient, ecClient}) {
            String device = "tls-" + key.key().getFileName().toString().replace(".key", "");
            Path file = config(device, tls(mutualTls, ca.cert(), key, key.key()));
            Object[] check = check(file);
            assertEquals(0, check[0], String.valueOf(check[1]));
            try (TestClient client = client(mutualTls, device + "-test", false)) {
                client.subscribe("edge-agent/" + device + "/status");
                String log = runAgent(file, (agent, logSoFar) -> {
                    assertTrue(agent.awaitConnected(WAIT), "connects over " + mutualTls.url() + ": " + logSoFar.get()
                            + mutualTls.logs());
                    assertEquals("online", client.awaitTopic("edge-agent/" + device + "/status", WAIT).text());
                    classify(client, device, "ev-" + device);
                    assertEquals(1, agent.stats().processed());
                });
                assertFalse(log.contains("failed"), log);
            }
        }
    }

    @Test
    void theBrokerRefusesAClientWithoutACertificate() throws Exception {
        Path file = config("tls-no-client-cert", tls(mutualTls, ca.cert(), null, null));
        String log = runAgent(file, (agent, logSoFar) -> assertFalse(agent.awaitConnected(Duration.ofSeconds(2))));
        assertTrue(log.contains("MQTT connection to " + mutualTls.url() + " failed: TLS handshake failed: "
                + "(certificate_required) Received fatal alert: certificate_required (the broker requires a client certificate"), log);
    }

    @Test
    void aBrokerCertificateFromAnotherCaIsRefusedAndRetried() throws Exception {
        Path file = config("tls-other-ca", tls(mutualTls, otherCa.cert(), rsaClient, rsaClient.key()));
        // check reads the files, which are all valid: it cannot know whom the broker's certificate is from
        assertEquals(0, check(file)[0]);
        String log = runAgent(file, (agent, logSoFar) -> {
            assertFalse(agent.awaitConnected(Duration.ofSeconds(2)), "must not trust a certificate from another CA");
            assertEquals(0, agent.connectCount());
        });
        assertTrue(countOf(log, "MQTT connection to " + mutualTls.url() + " failed") >= 2, "keeps retrying: " + log);
        assertFalse(log.contains("Interrupted"), "closing ends the retries without a warning: " + log);
        assertTrue(log.contains("failed: TLS handshake failed: (certificate_unknown) PKIX path building failed"), log);
        assertTrue(log.contains("(the broker's certificate is not signed by a CA in mqtt.tls.ca)"), log);
    }

    @Test
    void aBrokerCertificateForAnotherHostIsRefused() throws Exception {
        // signed by the trusted CA, but for broker.invalid, not 127.0.0.1: hostname verification refuses it
        Path file = config("tls-wrong-host", tls(wrongHost, ca.cert(), null, null));
        String log = runAgent(file, (agent, logSoFar) -> assertFalse(agent.awaitConnected(Duration.ofSeconds(2)),
                "must verify the broker's name"));
        assertTrue(log.contains("MQTT connection to " + wrongHost.url() + " failed: TLS handshake failed: "
                + "(certificate_unknown) No subject alternative names matching IP address 127.0.0.1 found"), log);
    }

    @Test
    void aPkcs1KeyIsReportedByCheckWithTheCommandThatConvertsIt() throws Exception {
        Path pkcs1 = new TestCertificates(certs).pkcs1(rsaClient);
        assertTrue(Files.readString(pkcs1).contains("BEGIN RSA PRIVATE KEY"));
        Path file = config("tls-pkcs1", tls(mutualTls, ca.cert(), rsaClient, pkcs1));
        Object[] check = check(file);
        assertEquals(1, check[0], String.valueOf(check[1]));
        assertTrue(String.valueOf(check[1]).contains("mqtt.tls.key: " + pkcs1 + " is a PKCS#1/SEC1 key; convert it with "
                + "'openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8'"), String.valueOf(check[1]));
        assertThrows(ConfigException.class, () -> ConfigLoader.load(file));
        // and a file that holds no key at all
        Path notAKey = config("tls-no-key", tls(mutualTls, ca.cert(), rsaClient, rsaClient.cert()));
        assertTrue(String.valueOf(check(notAKey)[1]).contains("holds no unencrypted PKCS#8 private key"));
    }

    @Test
    void usernameAndPasswordFileOverTlsWithoutThePasswordInLogsOrCheck() throws Exception {
        Path passwordFile = dir.resolve("mqtt-password");
        Files.writeString(passwordFile, PASSWORD + "\n");
        String login = tls(EdgeAgentTlsTest.login, ca.cert(), null, null) + "\n  username: " + USER
                + "\n  password_file: " + passwordFile;
        Path file = config("tls-login", login);
        Object[] check = check(file);
        assertEquals(0, check[0], String.valueOf(check[1]));
        assertFalse(String.valueOf(check[1]).contains(PASSWORD), String.valueOf(check[1]));
        String log;
        try (TestClient client = client(EdgeAgentTlsTest.login, "tls-login-test", true)) {
            log = runAgent(file, (agent, logSoFar) -> {
                assertTrue(agent.awaitConnected(WAIT), logSoFar.get() + EdgeAgentTlsTest.login.logs());
                classify(client, "tls-login", "ev-login");
            });
        }
        assertFalse(log.contains(PASSWORD), log);

        // A wrong password: refused by the broker, retried, and neither password is logged.
        String wrong = "wrong-" + UUID.randomUUID();
        Files.writeString(passwordFile, wrong);
        Path refused = config("tls-bad-login", login);
        assertFalse(String.valueOf(check(refused)[1]).contains(wrong));
        log = runAgent(refused, (agent, logSoFar) -> assertFalse(agent.awaitConnected(Duration.ofSeconds(2))));
        assertTrue(log.contains("MQTT connection to " + EdgeAgentTlsTest.login.url() + " failed: Not authorized"), log);
        assertFalse(log.contains(wrong) || log.contains(PASSWORD), log);
    }

    private static int countOf(String text, String part) {
        int count = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            count++;
        }
        return count;
    }
}
