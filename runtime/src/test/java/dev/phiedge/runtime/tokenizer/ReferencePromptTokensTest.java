package dev.phiedge.runtime.tokenizer;

import dev.phiedge.runtime.testutil.Json;
import dev.phiedge.runtime.testutil.SharedData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Prompt token ids recorded by llama.cpp in the shared golden files: the phi3-tiny prompts (each
 * model file's own vocabulary), stories260K's prompts (512-token vocabulary, no add_bos key), and the
 * 200 chat prompts of the demo model. Skipped, with a message, when ../shared is absent.
 */
class ReferencePromptTokensTest {

    @Test
    void phi3TinyPromptsTokenizeAsInGoldenJson() throws IOException {
        checkGolden(SharedData.require("testdata/phi3-tiny/golden.json"));
    }

    @Test
    void stories260KPromptsTokenizeAsInGoldenJson() throws IOException {
        checkGolden(SharedData.require("testdata/real-tiny/golden.json"));
        checkGolden(SharedData.require("testdata/real-tiny/golden-200.json")); // empty prompt: BOS only
    }

    @Test
    void stories260KVocabularyDefaultsToAddingBos() {
        Tokenizer t = Fixtures.load(SharedData.require("testdata/real-tiny/stories260K.gguf"), null);
        Vocabulary v = t.vocabulary();
        assertEquals(512, v.size());
        assertEquals(1, v.bos());
        assertEquals(2, v.eos());
        assertEquals(List.of(true, false, true), List.of(v.addBos(), v.addEos(), v.addSpacePrefix()));
        assertArrayEquals(new int[] {1}, t.encode("", true, true));
        assertArrayEquals(new int[] {2}, v.endOfGenerationIds());
    }

    /** For every file (whose GGUF is present) and prompt: the prompt file's bytes, tokenized as llama-cli -p. */
    private static void checkGolden(Path golden) throws IOException {
        Object root = Json.parse(golden);
        Path dir = golden.getParent();
        Map<String, String> prompts = new LinkedHashMap<>();
        for (Object p : Json.list(Json.at(root, "prompts"))) {
            String text = Files.readString(dir.resolve(Json.str(Json.at(p, "file"))), StandardCharsets.UTF_8);
            assertEquals(Json.str(Json.at(p, "text")), text, "prompt file vs golden text");
            prompts.put(Json.str(Json.at(p, "id")), text);
        }
        int checked = 0;
        for (Object f : Json.list(Json.at(root, "files"))) {
            Path model = dir.resolve(Json.str(Json.at(f, "file")));
            if (!Files.exists(model)) continue; // e.g. the F16 phi3-tiny file is not shipped
            Tokenizer t = Fixtures.load(model, null);
            for (Object r : Json.list(Json.at(f, "results"))) {
                String id = Json.str(Json.at(r, "prompt"));
                int[] expected = Json.ints(Json.at(r, "prompt_tokens"));
                assertArrayEquals(expected, t.encode(prompts.get(id), true, true), model.getFileName() + " " + id);
                checked++;
            }
        }
        assertFalse(checked == 0, "no model file of " + golden + " is present");
    }

    @Test
    void demoChatPromptsTokenizeAsTheReference() throws IOException {
        Path examples = SharedData.require("models/demo/examples.jsonl");
        Map<String, String> systems = routeSystems(examples.resolveSibling("routes.yaml"));
        List<Object> rows = Json.parseLines(examples);
        assertEquals(200, rows.size());
        for (String file : List.of("phi3-edge-demo.Q4_0.gguf", "phi3-edge-demo.Q8_0.gguf")) {
            Path model = examples.resolveSibling(file);
            if (!Files.exists(model)) continue;
            Tokenizer t = Fixtures.load(model, null);
            ChatTemplate chat = ChatTemplate.phi3();
            for (int i = 0; i < rows.size(); i++) {
                Map<String, Object> row = Json.obj(rows.get(i));
                String system = systems.get(Json.str(row.get("route")));
                String user = Json.str(row.get("user_prompt"));
                int[] expected = Json.ints(row.get("prompt_tokens"));
                String where = file + " row " + i;
                assertArrayEquals(expected, t.encode(chat.render(system, user), true, true), where);
                assertArrayEquals(expected, chat.encode(t, system, user), where + " (ChatTemplate.encode)");
                // The reference's answer tokens read back as the expected answer.
                int[] answer = Json.ints(Json.at(row, "reference", file, "tokens"));
                assertEquals(Json.str(Json.at(row, "reference", file, "text")), t.decode(answer, false, false), where);
            }
        }
    }

    private static final Pattern ROUTE = Pattern.compile("^\\s*- name:\\s*(\\S+)\\s*$");
    private static final Pattern SYSTEM = Pattern.compile("^\\s*system:\\s*\"(.*)\"\\s*$");

    /** route name → system text, read from the demo routes.yaml (double-quoted scalars without escapes). */
    static Map<String, String> routeSystems(Path routesYaml) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        String route = null;
        for (String line : Files.readAllLines(routesYaml, StandardCharsets.UTF_8)) {
            Matcher m = ROUTE.matcher(line);
            if (m.matches()) route = m.group(1);
            Matcher s = SYSTEM.matcher(line);
            if (s.matches() && route != null) out.put(route, s.group(1));
        }
        assertEquals(2, out.size(), "routes with a system text in " + routesYaml);
        return out;
    }
}
