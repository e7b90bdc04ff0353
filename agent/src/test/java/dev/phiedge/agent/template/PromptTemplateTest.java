package dev.phiedge.agent.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptTemplateTest {

    private final PayloadReader reader = new PayloadReader(32);

    private String render(String template, String payload, String topic) throws Exception {
        return PromptTemplate.parse(template).render(new TemplateInput(reader.read(payload), payload, topic, "dev-1"));
    }

    /** The independent truth: the user prompts the demo model was trained and checked on. */
    @Test
    void rendersEveryDemoExampleExactlyAsTheReferenceDid() throws Exception {
        Path examples = SharedData.require("models/demo/examples.jsonl");
        AgentConfig demo = ConfigLoader.load(SharedData.repoRoot().resolve("samples/config/demo.yaml"));
        List<String> lines = Files.readAllLines(examples);
        assertEquals(200, lines.size(), "examples.jsonl should hold 200 events");
        int checked = 0;
        for (String line : lines) {
            JsonNode row = reader.read(line);
            RouteConfig route = demo.route(row.get("route").textValue()).orElseThrow();
            JsonNode payload = row.get("payload");
            String rendered = route.prompt().render(new TemplateInput(payload, payload.toString(),
                    row.get("topic").textValue(), demo.deviceId()));
            assertEquals(row.get("user_prompt").textValue(), rendered, "event " + line);
            checked++;
        }
        assertEquals(200, checked);
    }

    @Test
    void demoConfigKeepsTheSharedRoutesVerbatim() throws Exception {
        Path shared = SharedData.require("models/demo/routes.yaml");
        String original = Files.readString(shared);
        String copy = Files.readString(SharedData.repoRoot().resolve("samples/config/demo.yaml"));
        // Everything from the first route on must be byte-identical: the model knows only these texts.
        assertEquals(original.substring(original.indexOf("routes:")), copy.substring(copy.indexOf("routes:")));
    }

    @Test
    void numbersRenderAsWrittenInThePayload() throws Exception {
        assertEquals("21.0 72 -4.5 0.87 35.50 12345678901234567890",
                render("{a} {b} {c} {d} {e} {f}",
                        "{\"a\":21.0,\"b\":72,\"c\":-4.5,\"d\":0.87,\"e\":35.50,\"f\":12345678901234567890}", "t"));
    }

    @Test
    void arraysJoinAndEmptyOrNullIsNone() throws Exception {
        assertEquals("lawn, porch, fence | none | none | 1, 2.5, true",
                render("{z} | {e} | {n} | {m}", "{\"z\":[\"lawn\",\"porch\",\"fence\"],\"e\":[],\"n\":null,\"m\":[1,2.5,true]}", "t"));
    }

    @Test
    void topicDevicePayloadAndNestedPaths() throws Exception {
        String payload = "{\"after\":{\"camera\":\"door\",\"zones\":[\"a\"]},\"list\":[{\"x\":\"first\"}]}";
        assertEquals("frigate|events|dev-1|door|first|" + payload,
                render("{$topic[0]}|{$topic[1]}|{$device}|{after.camera}|{list.0.x}|{$payload}", payload, "frigate/events"));
    }

    @Test
    void missingFieldsAreReportedByName() throws Exception {
        MissingFieldException e = assertThrows(MissingFieldException.class,
                () -> render("T {after.camera}", "{\"after\":{}}", "t"));
        assertEquals("after.camera", e.field());
        MissingFieldException topic = assertThrows(MissingFieldException.class,
                () -> render("{$topic[3]}", "{}", "a/b"));
        assertTrue(topic.getMessage().contains("only 2 levels"), topic.getMessage());
    }

    @Test
    void syntaxErrorsAreRefused() {
        for (String bad : List.of("a {b", "a } b", "{}", "{$nope}", "{$topic[x]}", "{a..b}", "{a{b}}")) {
            assertThrows(TemplateSyntaxException.class, () -> PromptTemplate.parse(bad), bad);
        }
    }
}
