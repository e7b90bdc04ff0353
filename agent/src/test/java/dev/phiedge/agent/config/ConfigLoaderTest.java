package dev.phiedge.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.topic.TopicFilter;
import dev.phiedge.agent.template.TemplateField;
import dev.phiedge.agent.testing.SharedData;
import dev.phiedge.agent.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    private Path write(String yaml) throws Exception {
        Files.write(dir.resolve("model.gguf"), new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0});
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private List<ConfigProblem> problems(String yaml) throws Exception {
        Path file = write(yaml);
        return assertThrows(ConfigException.class, () -> ConfigLoader.load(file)).problems();
    }

    private static String minimal(String routeExtra) {
        return """
                device_id: dev-1
                mqtt:
                  url: tcp://127.0.0.1:1883
                model:
                  path: model.gguf
                routes:
                  - name: r
                    subscribe: a/+/c
                    task: classify
                    labels: [x, y]
                    prompt: "v {v}"
                    publish: out/{$topic[1]}
                """ + routeExtra;
    }

    /** Asserts that some problem sits at this line and mentions all the words. */
    private static void assertProblem(List<ConfigProblem> problems, int line, String key, String... words) {
        String all = problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("\n"));
        assertTrue(problems.stream().anyMatch(p -> p.line() == line && p.key().equals(key)
                        && List.of(words).stream().allMatch(w -> p.message().contains(w))),
                "expected a problem at line " + line + " on " + key + " mentioning " + List.of(words) + "; got:\n" + all);
    }

    @Test
    void loadsTheDemoConfiguration() throws Exception {
        AgentConfig config = ConfigLoader.load(SharedData.repoRoot().resolve("samples/config/demo.yaml"));
        assertEquals("demo", config.deviceId());
        assertEquals(512, config.model().context());
        assertTrue(Files.isRegularFile(config.model().path()));
        assertEquals(List.of("greenhouse-climate", "camera-events"), config.routes().stream().map(RouteConfig::name).toList());
        RouteConfig climate = config.routes().getFirst();
        assertEquals(Task.CLASSIFY, climate.task());
        assertEquals(List.of("normal", "warning", "critical"), climate.labels());
        assertEquals(1, climate.qos());
        assertEquals(Task.SUMMARIZE, config.routes().get(1).task());
        assertEquals(32, config.routes().get(1).maxTokens());
        assertEquals("edge-agent/demo/status", config.agentTopic("status"));
        assertEquals("edge-agent-demo", config.mqtt().clientId());
    }

    @Test
    void loadsTheCommentedExample() throws Exception {
        AgentConfig config = ConfigLoader.load(SharedData.repoRoot().resolve("samples/config/example.yaml"));
        QueueConfig queue = config.route("camera-events").orElseThrow().queue();
        assertEquals(QueuePolicy.COALESCE, queue.policy());
        assertEquals(List.of("after", "camera"),
                ((TemplateField.PayloadPath) queue.coalesceKey().orElseThrow()).segments());
        assertEquals(Duration.ofSeconds(60), config.route("greenhouse-climate").orElseThrow().queue().deadline().orElseThrow());
    }

    @Test
    void reportsEveryProblemOfAFileWithItsLine() throws Exception {
        List<ConfigProblem> problems = problems("""
                device_id: dev/1
                mqtt:
                  url: tcp://127.0.0.1:1883
                  keepalive: soon
                  colour: blue
                model:
                  path: missing.gguf
                  context: 512
                routes:
                  - name: r1
                    subscribe: a/#/c
                    task: classify
                    prompt: "v {v}"
                    publish: out
                  - name: r2
                    subscribe: a/+/c
                    task: summarise
                    prompt: "Zone {$topic[5]} {$devic}"
                    publish: out/#
                    qos: 3
                    retain: maybe
                    labels: normal
                    queue: {policy: coalesce, capacity: 0}
                  - name: r1
                    subscribe: $share//x
                    task: classify
                    labels: [a, a]
                    prompt: "{unclosed"
                    publish: out
                """);
        assertProblem(problems, 1, "device_id", "topic level");
        assertProblem(problems, 4, "mqtt.keepalive", "whole number", "soon");
        assertProblem(problems, 5, "mqtt.colour", "unknown key");
        assertProblem(problems, 7, "model.path", "not found");
        assertProblem(problems, 11, "routes[0].subscribe", "'#'");
        assertProblem(problems, 10, "routes[0].labels", "needs labels");
        assertProblem(problems, 17, "routes[1].task", "classify or summarize", "summarise");
        assertProblem(problems, 18, "routes[1].prompt", "unknown variable");
        assertProblem(problems, 19, "routes[1].publish", "wildcards");
        assertProblem(problems, 20, "routes[1].qos", "between 0 and 2");
        assertProblem(problems, 21, "routes[1].retain", "true or false");
        assertProblem(problems, 22, "routes[1].labels", "expected a list");
        assertProblem(problems, 23, "routes[1].queue.policy", "coalesce_key");
        assertProblem(problems, 23, "routes[1].queue.capacity", "between 1");
        assertProblem(problems, 25, "routes[2].subscribe", "share group");
        assertProblem(problems, 27, "routes[2].labels", "distinct");
        assertProblem(problems, 28, "routes[2].prompt", "unclosed");
        assertProblem(problems, 24, "routes[2].name", "duplicate route name");
        assertTrue(problems.stream().allMatch(p -> p.toString().startsWith(dir.resolve("agent.yaml") + ":")),
                "every problem names the file and line: " + problems);
    }

    @Test
    void topicLevelsThatCanNeverExistAreCaught() throws Exception {
        List<ConfigProblem> p = problems(minimal("").replace("out/{$topic[1]}", "out/{$topic[3]}"));
        assertProblem(p, 12, "routes[0].publish", "{$topic[3]} can never exist", "3 levels");
        // With a trailing '#', any deeper level may exist; that is not a configuration mistake.
        Path ok = write(minimal("").replace("a/+/c", "a/+/#").replace("out/{$topic[1]}", "out/{$topic[7]}"));
        assertEquals(1, ConfigLoader.load(ok).routes().size());
        // The share prefix is not part of the topic the event arrives on.
        Path shared = write(minimal("").replace("a/+/c", "$share/fleet/a/+/c").replace("out/{$topic[1]}", "out/{$topic[2]}"));
        assertTrue(ConfigLoader.load(shared).routes().getFirst().subscribe().isShared());
        List<ConfigProblem> sharedTooDeep = problems(minimal("").replace("a/+/c", "$share/fleet/a/+/c")
                .replace("out/{$topic[1]}", "out/{$topic[3]}"));
        assertProblem(sharedTooDeep, 12, "routes[0].publish", "can never exist");
    }

    @Test
    void typesOfWholeSectionsAndYamlSyntax() throws Exception {
        assertProblem(problems("device_id: d\nmqtt: tcp://x\nmodel: {path: model.gguf}\nroutes: []\n"),
                2, "mqtt", "expected a mapping");
        assertProblem(problems("device_id: d\nmqtt: {url: tcp://x:1}\nmodel: {path: model.gguf}\nroutes: []\n"),
                4, "routes", "at least one route");
        assertProblem(problems("device_id: d\nmqtt: {url: tcp://x:1\nmodel: x\n"), 3, "", "not valid YAML");
        assertProblem(problems("device_id: d\nmqtt: {url: 'http://x'}\nmodel: {path: model.gguf}\nroutes: []\n"),
                2, "mqtt.url", "tcp://");
        assertProblem(problems(minimal("    max_tokens: 10\n")), 13, "routes[0].max_tokens", "summarize routes only");
        assertProblem(problems(minimal("    queue: {policy: drop_oldest, coalesce_key: $nope}\n")),
                13, "routes[0].queue.coalesce_key", "unknown variable");
    }

    @Test
    void modelFileMustBeGguf() throws Exception {
        Path file = write(minimal(""));
        Files.writeString(dir.resolve("model.gguf"), "not a model");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file));
        assertProblem(e.problems(), 5, "model.path", "not a GGUF");
    }

    @Test
    void secretsAndTlsFilesAreCheckedWithoutReadingThemIntoMessages() throws Exception {
        Files.writeString(dir.resolve("pw"), "s3cret-value\n");
        List<ConfigProblem> p = problems(minimal("").replace("  url: tcp://127.0.0.1:1883\n",
                "  url: tcp://127.0.0.1:1883\n  password_file: pw\n  tls: {ca: nope.pem}\n"));
        assertProblem(p, 4, "mqtt.password_file", "needs a username");
        assertProblem(p, 5, "mqtt.tls.ca", "not found");
        assertProblem(p, 5, "mqtt.tls", "not ssl://");
        assertFalse(p.toString().contains("s3cret"), "a problem must never show the password");
    }

    @Test
    void defaultsAreFilledIn() throws Exception {
        AgentConfig config = ConfigLoader.load(write(minimal("")));
        RouteConfig route = config.routes().getFirst();
        assertEquals(QueueConfig.defaults(), route.queue());
        assertEquals(1, route.qos());
        assertFalse(route.retain());
        assertEquals(LimitsConfig.defaults(), config.limits());
        assertEquals(MqttConfig.DEFAULT_SESSION_EXPIRY, config.mqtt().sessionExpirySeconds());
        assertEquals(TopicFilter.of("a/+/c"), route.subscribe());
    }

    /** A configuration of routes given as {name, subscribe, publish, extra route lines}, after a header. */
    private static String routes(String header, String[]... routes) {
        StringBuilder yaml = new StringBuilder(header).append("routes:\n");
        for (String[] r : routes) {
            yaml.append("  - name: ").append(r[0]).append('\n')
                    .append("    subscribe: '").append(r[1]).append("'\n")
                    .append("    task: classify\n")
                    .append("    labels: [x, y]\n")
                    .append("    prompt: \"v {v}\"\n")
                    .append("    publish: '").append(r[2]).append("'\n");
            for (int i = 3; i < r.length; i++) {
                yaml.append("    ").append(r[i]).append('\n');
            }
        }
        return yaml.toString();
    }

    private static final String HEADER = """
            device_id: dev-1
            mqtt:
              url: tcp://127.0.0.1:1883
            model:
              path: model.gguf
            """;

    /** The header is 5 lines, each route 6 (+ extras): route i (no extras before it) starts at line 7 + 6 i. */
    private static int publishLine(int route) {
        return 7 + 6 * route + 5;
    }

    private void assertLoads(String yaml) throws Exception {
        Path file = write(yaml);
        try {
            ConfigLoader.load(file);
        } catch (ConfigException e) {
            throw new AssertionError("expected no problem, got:\n" + e.getMessage(), e);
        }
    }

    @Test
    void aRouteThatWouldAnswerItsOwnResultsIsRefused() throws Exception {
        // The issue's example: greenhouse/{$topic[1]}/climate is again a greenhouse/+/climate topic.
        List<ConfigProblem> p = problems(routes(HEADER,
                new String[] {"climate", "greenhouse/+/climate", "greenhouse/{$topic[1]}/climate"}));
        assertProblem(p, publishLine(0), "routes[0].publish", "route 'climate' publishes to greenhouse/{$topic[1]}/climate,"
                + " which it subscribes to itself with 'greenhouse/+/climate' (e.g. a result on greenhouse/x/climate):"
                + " the agent would answer its own results");
        // ... one level deeper it is not: the filter has exactly three levels
        assertLoads(routes(HEADER, new String[] {"climate", "greenhouse/+/climate", "greenhouse/{$topic[1]}/climate/assessment"}));
    }

    @Test
    void aRouteFeedingAnotherRouteIsRefusedWithBothRoutesAndTopics() throws Exception {
        List<ConfigProblem> p = problems(routes(HEADER,
                new String[] {"raw", "sensors/+/raw", "greenhouse/{$topic[1]}/climate"},
                new String[] {"climate", "greenhouse/+/climate", "reports/{$topic[1]}"}));
        assertProblem(p, publishLine(0), "routes[0].publish", "route 'raw' publishes to greenhouse/{$topic[1]}/climate,"
                + " which route 'climate' subscribes to with 'greenhouse/+/climate' (e.g. a result on greenhouse/x/climate)");
        assertEquals(1, p.size(), p.toString()); // 'climate' publishes where nobody listens
    }

    @Test
    void multiLevelWildcardsMatchAnyDepthIncludingTheirParent() throws Exception {
        // '#' takes every level below, and the parent itself ("greenhouse/#" matches "greenhouse")
        assertProblem(problems(routes(HEADER,
                        new String[] {"in", "greenhouse/#", "out/{$topic[1]}"},
                        new String[] {"report", "reports/+", "greenhouse/summary/{$topic[1]}"})),
                publishLine(1), "routes[1].publish", "which route 'in' subscribes to with 'greenhouse/#'",
                "e.g. a result on greenhouse/summary/x");
        assertProblem(problems(routes(HEADER,
                        new String[] {"in", "greenhouse/#", "out/{$topic[1]}"},
                        new String[] {"report", "reports/+", "greenhouse"})),
                publishLine(1), "routes[1].publish", "e.g. a result on greenhouse)");
        assertLoads(routes(HEADER,
                new String[] {"in", "greenhouse/#", "out/{$topic[1]}"},
                new String[] {"report", "reports/+", "greenhouses/{$topic[1]}"}));
    }

    @Test
    void sharedSubscriptionsLoopOnTheirFilterProper() throws Exception {
        // A shared subscription still receives every topic its filter matches (one member of the group
        // does), and No Local cannot be set on it: the loop is real.
        List<ConfigProblem> p = problems(routes(HEADER,
                new String[] {"climate", "$share/fleet/greenhouse/+/climate", "greenhouse/{$topic[1]}/climate"}));
        assertProblem(p, publishLine(0), "routes[0].publish",
                "which it subscribes to itself with '$share/fleet/greenhouse/+/climate' (e.g. a result on greenhouse/x/climate)");
        List<ConfigProblem> viaShareKey = problems(routes(HEADER,
                new String[] {"climate", "greenhouse/+/climate", "greenhouse/{$topic[1]}/climate", "share: fleet"}));
        assertTrue(viaShareKey.stream().anyMatch(q -> q.key().equals("routes[0].publish")
                && q.message().contains("'$share/fleet/greenhouse/+/climate'")), viaShareKey.toString());
    }

    @Test
    void payloadFieldsMayHoldSlashesAndSoSpanLevels() throws Exception {
        // {camera} comes from the event: "ack/7" makes alerts/{camera} the topic alerts/ack/7
        assertProblem(problems(routes(HEADER, new String[] {"a", "alerts/ack/+", "alerts/{camera}"})),
                publishLine(0), "routes[0].publish", "e.g. a result on alerts/ack/x");
        // a camera named "ack" makes alerts/ack/new
        assertProblem(problems(routes(HEADER, new String[] {"a", "alerts/ack/+", "alerts/{camera}/new"})),
                publishLine(0), "routes[0].publish", "e.g. a result on alerts/ack/new");
        // {$payload} likewise
        assertProblem(problems(routes(HEADER, new String[] {"a", "in/+/x", "in/{$payload}"})),
                publishLine(0), "routes[0].publish", "e.g. a result on in/x/x");
        // but a field cannot change the literal levels around it
        assertLoads(routes(HEADER, new String[] {"a", "frigate/events", "cameras/{after.camera}/description"}));
        assertLoads(routes(HEADER, new String[] {"a", "alerts/ack/+", "alerts/{camera}/new/done"}));
    }

    @Test
    void topicLevelsAndTheDeviceIdAreKnownWhereTheConfigurationFixesThem() throws Exception {
        // {$topic[0]} of site/+/raw is always "site"; {$topic[1]} is any one level
        assertLoads(routes(HEADER, new String[] {"a", "site/+/raw", "{$topic[0]}/{$topic[1]}/clean"}));
        assertProblem(problems(routes(HEADER, new String[] {"a", "site/+/raw", "{$topic[0]}/{$topic[1]}/raw"})),
                publishLine(0), "routes[0].publish", "e.g. a result on site/x/raw");
        // {$device} is dev-1
        assertProblem(problems(routes(HEADER, new String[] {"a", "dev-1/in", "{$device}/in"})),
                publishLine(0), "routes[0].publish", "e.g. a result on dev-1/in");
        assertLoads(routes(HEADER, new String[] {"a", "dev-2/in", "{$device}/in"}));
        // a level mixing text and a placeholder keeps its text
        assertProblem(problems(routes(HEADER, new String[] {"a", "zone-a/+", "zone-{$topic[1]}/x"})),
                publishLine(0), "routes[0].publish", "e.g. a result on zone-a/x");
        assertLoads(routes(HEADER, new String[] {"a", "area-a/+", "zone-{$topic[1]}/x"}));
    }

    @Test
    void subscribingToTheAgentsOwnTopicsIsRefused() throws Exception {
        List<ConfigProblem> p = problems(routes(HEADER, new String[] {"watch", "edge-agent/+/status", "watch/out"}));
        assertProblem(p, publishLine(0) - 4, "routes[0].subscribe", "route 'watch' subscribes to 'edge-agent/+/status',"
                + " which matches the agent's own edge-agent/dev-1/status: the agent would answer its own status,"
                + " stats or error reports");
        // another device's topics are not this agent's
        assertLoads(routes(HEADER, new String[] {"watch", "edge-agent/dev-2/stats", "watch/out"}));
        // with a topic prefix of its own, and '#': all three, and every publish topic loops too
        List<ConfigProblem> all = problems(routes(HEADER.replace("  url: tcp://127.0.0.1:1883\n",
                "  url: tcp://127.0.0.1:1883\n  topic_prefix: fleet\n"), new String[] {"everything", "#", "out/{$topic[0]}"}));
        assertProblem(all, publishLine(0) + 1 - 4, "routes[0].subscribe",
                "fleet/dev-1/status, fleet/dev-1/stats, fleet/dev-1/errors");
        assertProblem(all, publishLine(0) + 1, "routes[0].publish", "with '#' (e.g. a result on out/x)");
    }

    @Test
    void shareSubscribesThroughAnMqtt5SharedSubscription() throws Exception {
        AgentConfig config = ConfigLoader.load(write(minimal("    share: greenhouse-agents\n")));
        TopicFilter filter = config.routes().getFirst().subscribe();
        assertEquals("$share/greenhouse-agents/a/+/c", filter.text());
        assertEquals("greenhouse-agents", filter.shareGroup());
        assertEquals(List.of("a", "+", "c"), filter.levels());
        assertTrue(filter.matches("a/b/c"), "the share prefix is not part of the topics matched");

        assertProblem(problems(minimal("    share: a/b\n")), 13, "routes[0].share", "without '/', '+' or '#'", "'a/b'");
        assertProblem(problems(minimal("    share: team+\n")), 13, "routes[0].share", "without '/', '+' or '#'");
        assertProblem(problems(minimal("    share: '#'\n")), 13, "routes[0].share", "without '/', '+' or '#'");
        assertProblem(problems(minimal("    share: ''\n")), 13, "routes[0].share", "non-empty");
        assertProblem(problems(minimal("    share: fleet\n").replace("subscribe: a/+/c", "subscribe: $share/g/a/+/c")),
                13, "routes[0].share", "already a shared subscription", "'$share/g/a/+/c'");
    }

    @Test
    void topicLevelsInPromptAndCoalesceKeyAreCheckedToo() throws Exception {
        assertProblem(problems(minimal("").replace("prompt: \"v {v}\"", "prompt: \"v {$topic[3]}\"")),
                11, "routes[0].prompt", "{$topic[3]} can never exist");
        assertProblem(problems(minimal("    queue: {policy: coalesce, coalesce_key: '{$topic[4]}'}\n")),
                13, "routes[0].queue.coalesce_key", "{$topic[4]} can never exist");
    }

    /** A reference model cut short: load only sniffs the magic, check opens it as run does and refuses it. */
    @Test
    void checkOpensTheModelAsRunDoesAndRefusesATruncatedOne() throws Exception {
        Path reference = SharedData.require("testdata/phi3-tiny/phi3-tiny-a.Q4_0.gguf");
        Path file = write(minimal(""));
        Path model = dir.resolve("model.gguf");
        Files.copy(reference, model, StandardCopyOption.REPLACE_EXISTING);
        assertEquals(12_820_000, Files.size(model), "the reference file's size (shared/testdata/phi3-tiny/golden.json)");
        ConfigLoader.check(file); // the whole model opens

        try (var channel = java.nio.channels.FileChannel.open(model, java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(12_820_000 - 1000);
        }
        ConfigLoader.load(file); // still starts with GGUF
        List<ConfigProblem> p = assertThrows(ConfigException.class, () -> ConfigLoader.check(file)).problems();
        // golden.json lists blk.1.ffn_up.weight last: Q4_0, 256 x 1024 weights = 8192 blocks of 18 bytes,
        // ending where the file ends
        assertProblem(p, 5, "model.path", "the runtime cannot load this model: " + model,
                "tensor 'blk.1.ffn_up.weight' (Q4_0, 147456 bytes at data offset ",
                "extends past the end of the file: needs 12820000 bytes, file has 12819000");
        assertEquals(1, p.size(), p.toString());
    }

    @Test
    void checkRefusesAGgufThatHoldsNoModel() throws Exception {
        // llama.cpp's vocabulary-only file: a valid GGUF with phi3 metadata and no weights
        Path vocab = SharedData.require("testdata/tokenizer/ggml-vocab-phi-3.gguf");
        Path file = write(minimal(""));
        Files.copy(vocab, dir.resolve("model.gguf"), StandardCopyOption.REPLACE_EXISTING);
        ConfigLoader.load(file);
        List<ConfigProblem> p = assertThrows(ConfigException.class, () -> ConfigLoader.check(file)).problems();
        assertProblem(p, 5, "model.path", "the runtime cannot load this model", "missing tensor 'token_embd.weight'");
    }

    /** TLS files as the connection loads them: a cut certificate, a damaged key, a key of another certificate. */
    @Test
    void brokenTlsFilesAreRefusedWithTheirLines() throws Exception {
        TestCertificates openssl = new TestCertificates(dir);
        TestCertificates.Issued ca = openssl.ca("ca");
        TestCertificates.Issued client = openssl.issue(ca, "client", "RSA", null);
        TestCertificates.Issued other = openssl.issue(ca, "other", "RSA", null);
        TestCertificates.Issued ec = openssl.issue(ca, "ec", "EC", null);
        String tls = "  url: ssl://127.0.0.1:8883\n  tls:\n    ca: %s\n    cert: %s\n    key: %s\n";
        java.util.function.Function<String[], String> config = files -> minimal("")
                .replace("  url: tcp://127.0.0.1:1883\n", tls.formatted((Object[]) files));
        // lines: ca 5, cert 6, key 7; the route's publish moves from 12 to 15

        ConfigLoader.load(write(config.apply(new String[] {"ca.pem", "client.pem", "client.key"})));

        String pem = Files.readString(client.cert());
        Files.writeString(dir.resolve("cut.pem"), pem.substring(0, pem.length() / 2));
        assertProblem(problems(config.apply(new String[] {"ca.pem", "cut.pem", "client.key"})), 6, "mqtt.tls.cert");
        assertProblem(problems(config.apply(new String[] {"cut.pem", "client.pem", "client.key"})), 5, "mqtt.tls.ca");

        String key = Files.readString(client.key());
        int body = key.indexOf('\n') + 1; // the DER's first bytes: no longer a PKCS#8 structure
        Files.writeString(dir.resolve("damaged.key"), key.substring(0, body) + "AAAA" + key.substring(body + 4));
        assertProblem(problems(config.apply(new String[] {"ca.pem", "client.pem", "damaged.key"})), 7, "mqtt.tls.key");

        assertProblem(problems(config.apply(new String[] {"ca.pem", "client.pem", "other.key"})), 7, "mqtt.tls.key",
                "is not the private key of the certificate " + client.cert());
        assertProblem(problems(config.apply(new String[] {"ca.pem", "other.pem", "client.key"})), 7, "mqtt.tls.key",
                "is not the private key of the certificate " + other.cert());
        assertProblem(problems(config.apply(new String[] {"ca.pem", "client.pem", "ec.key"})), 7, "mqtt.tls.key");
        ConfigLoader.load(write(config.apply(new String[] {"ca.pem", "other.pem", "other.key"})));
        ConfigLoader.load(write(config.apply(new String[] {"ca.pem", "ec.pem", "ec.key"})));
    }
}
