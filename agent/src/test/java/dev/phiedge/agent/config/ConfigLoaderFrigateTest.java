package dev.phiedge.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.template.PayloadReader;
import dev.phiedge.agent.template.RouteCondition;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The route key {@code when}, the route option {@code frigate_description} and the {@code frigate} section. */
class ConfigLoaderFrigateTest {

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

    /** A summarize route on frigate/events; {@code extra} is appended (route keys, then top-level keys). */
    private static String config(String routeExtra, String topExtra) {
        return """
                device_id: dev-1
                mqtt:
                  url: tcp://127.0.0.1:1883
                model:
                  path: model.gguf
                routes:
                  - name: events
                    subscribe: frigate/events
                    task: summarize
                    prompt: "{after.label} on {after.camera}"
                    publish: out/{after.camera}
                """ + routeExtra + topExtra;
    }

    private static void assertProblem(List<ConfigProblem> problems, int line, String key, String... words) {
        String all = problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("\n"));
        assertTrue(problems.stream().anyMatch(p -> p.line() == line && p.key().equals(key)
                        && List.of(words).stream().allMatch(w -> p.message().contains(w))),
                "expected a problem at line " + line + " on " + key + " mentioning " + List.of(words) + "; got:\n" + all);
    }

    @Test
    void readsWhenAsConditionsInTheirOrder() throws Exception {
        AgentConfig config = ConfigLoader.load(write(config("""
                    when:
                      type: [end]
                      after.label: [person, car]
                      after.top_score: ">= 0.6"
                      after.false_positive: false
                      after.area: 40_096
                      after.sub_label: "== null"
                """, "")));
        RouteConfig route = config.routes().getFirst();
        RouteCondition when = route.when().orElseThrow();
        assertEquals(List.of("type", "after.label", "after.top_score", "after.false_positive", "after.area", "after.sub_label"),
                when.clauses().stream().map(RouteCondition.Clause::path).toList());
        assertEquals(RouteCondition.Operator.GREATER_OR_EQUAL, when.clauses().get(2).operator());
        assertEquals(RouteCondition.Operator.IS_NULL, when.clauses().get(5).operator());
        PayloadReader reader = new PayloadReader(16);
        String payload = """
                {"type": "%s", "after": {"id": "1607123955.475377-mxklsc", "camera": "front_door", "label": "%s",
                 "sub_label": null, "top_score": %s, "false_positive": false, "area": 40096}}""";
        assertTrue(route.accepts(reader.read(payload.formatted("end", "person", "0.958984375"))));
        assertTrue(route.accepts(reader.read(payload.formatted("end", "car", "0.6"))));
        assertFalse(route.accepts(reader.read(payload.formatted("update", "person", "0.958984375"))));
        assertFalse(route.accepts(reader.read(payload.formatted("end", "dog", "0.958984375"))));
        assertFalse(route.accepts(reader.read(payload.formatted("end", "person", "0.5"))));
        assertFalse(route.frigateDescription());
        assertTrue(config.frigate().isEmpty());
    }

    @Test
    void aRouteWithoutWhenTakesEveryEvent() throws Exception {
        RouteConfig route = ConfigLoader.load(write(config("", ""))).routes().getFirst();
        assertTrue(route.when().isEmpty());
        assertTrue(route.accepts(new PayloadReader(16).read("{\"anything\": 1}")));
    }

    @Test
    void reportsEachBadConditionAtItsLine() throws Exception {
        List<ConfigProblem> problems = problems(config("""
                    when:
                      type: [end]
                      after.top_score: ">= high"
                      after.label: []
                      after.sub_label:
                      $topic[1]: x
                      after.area: 0x1F
                      after.camera: {name: x}
                      type: new
                      after.score: "<"
                """, ""));
        // lines: 12 when, 13 type, 14 top_score, 15 label, 16 sub_label, 17 $topic, 18 area, 19 camera, 20 type, 21 score
        assertProblem(problems, 14, "routes[0].when.after.top_score", "'>=' compares numbers", "got 'high'");
        assertProblem(problems, 15, "routes[0].when.after.label", "an empty list matches nothing");
        assertProblem(problems, 16, "routes[0].when.after.sub_label", "no value", "\"== null\"");
        assertProblem(problems, 17, "routes[0].when.$topic[1]", "payload fields only");
        assertProblem(problems, 18, "routes[0].when.after.area", "write numbers in decimal");
        assertProblem(problems, 19, "routes[0].when.after.camera", "got a mapping");
        assertProblem(problems, 20, "routes[0].when.type", "duplicate key");
        assertProblem(problems, 21, "routes[0].when.after.score", "nothing after '<'");
        assertEquals(8, problems.size(), problems.toString());
    }

    @Test
    void whenMustBeANonEmptyMapping() throws Exception {
        assertProblem(problems(config("    when: end\n", "")), 12, "routes[0].when", "expected a mapping", "text 'end'");
        assertProblem(problems(config("    when: [type, end]\n", "")), 12, "routes[0].when", "expected a mapping", "a list");
        assertProblem(problems(config("    when: {}\n", "")), 12, "routes[0].when", "no conditions");
    }

    @Test
    void readsTheFrigateSection() throws Exception {
        Files.writeString(dir.resolve("frigate.token"), "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl\n");
        AgentConfig config = ConfigLoader.load(write(config("    frigate_description: true\n", """
                frigate:
                  url: http://frigate.lan:8971/
                  token_file: frigate.token
                  timeout_s: 5
                  retries: 2
                """)));
        FrigateConfig frigate = config.frigate().orElseThrow();
        assertEquals(URI.create("http://frigate.lan:8971"), frigate.url());
        assertEquals(Optional.of(dir.resolve("frigate.token").toAbsolutePath().normalize()), frigate.tokenFile());
        assertEquals(Duration.ofSeconds(5), frigate.timeout());
        assertEquals(2, frigate.retries());
        assertEquals(Optional.of("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl"), frigate.readToken());
        assertTrue(config.routes().getFirst().frigateDescription());
    }

    @Test
    void theFrigateSectionHasDefaults() throws Exception {
        FrigateConfig frigate = ConfigLoader.load(write(config("", "frigate: {url: \"http://127.0.0.1:5000\"}\n")))
                .frigate().orElseThrow();
        assertEquals(URI.create("http://127.0.0.1:5000"), frigate.url());
        assertEquals(Optional.empty(), frigate.tokenFile());
        assertEquals(Optional.empty(), frigate.readToken());
        assertEquals(Duration.ofSeconds(10), frigate.timeout());
        assertEquals(3, frigate.retries());
    }

    @Test
    void reportsFrigateSectionMistakesWithTheirLines() throws Exception {
        Files.writeString(dir.resolve("two-words.token"), "abc def\n");
        List<ConfigProblem> problems = problems(config("", """
                frigate:
                  url: ftp://frigate.lan
                  token_file: two-words.token
                  timeout_s: 0
                  retries: 11
                  colour: blue
                """));
        // lines: 12 frigate, 13 url, 14 token_file, 15 timeout_s, 16 retries, 17 colour
        assertProblem(problems, 13, "frigate.url", "expected http://HOST:PORT");
        assertProblem(problems, 14, "frigate.token_file", "two-words.token does not hold one bearer token", "character 4 is a space");
        assertProblem(problems, 15, "frigate.timeout_s", "between 1 and 300");
        assertProblem(problems, 16, "frigate.retries", "between 0 and 10");
        assertProblem(problems, 17, "frigate.colour", "unknown key");
        assertFalse(problems.stream().anyMatch(p -> p.message().contains("def")), "the token is never echoed");

        assertProblem(problems(config("", "frigate: {url: \"http://frigate.lan:5000/api\"}\n")), 12, "frigate.url",
                "without /api");
        assertProblem(problems(config("", "frigate: {url: \"http://frigate.lan:5000/?x=1\"}\n")), 12, "frigate.url",
                "no user, query or fragment");
        assertProblem(problems(config("", "frigate: {timeout_s: 5}\n")), 12, "frigate.url", "missing (required)");
        assertProblem(problems(config("", "frigate: {url: \"http://x:5000\", token_file: nope.token}\n")), 12,
                "frigate.token_file", "file not found or not readable");
        Files.writeString(dir.resolve("empty.token"), "\n");
        assertProblem(problems(config("", "frigate: {url: \"http://x:5000\", token_file: empty.token}\n")), 12,
                "frigate.token_file", "is empty");
    }

    @Test
    void frigateDescriptionNeedsASummarizeRouteAndAFrigateSection() throws Exception {
        assertProblem(problems(config("    frigate_description: true\n", "")), 12, "routes[0].frigate_description",
                "needs a top-level frigate section");
        List<ConfigProblem> classify = problems("""
                device_id: dev-1
                mqtt:
                  url: tcp://127.0.0.1:1883
                model:
                  path: model.gguf
                frigate:
                  url: http://127.0.0.1:5000
                routes:
                  - name: r
                    subscribe: frigate/events
                    task: classify
                    labels: [x, y]
                    prompt: "{after.label}"
                    publish: out
                    frigate_description: true
                """);
        assertProblem(classify, 15, "routes[0].frigate_description", "summarize routes only");
        assertEquals(1, classify.size(), classify.toString());
        assertProblem(problems(config("    frigate_description: maybe\n", "frigate: {url: \"http://x:5000\"}\n")), 12,
                "routes[0].frigate_description", "expected true or false");
        // false is allowed anywhere
        assertFalse(ConfigLoader.load(write(config("    frigate_description: false\n", ""))).routes().getFirst()
                .frigateDescription());
    }
}
