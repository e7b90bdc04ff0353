package dev.phiedge.runtime.cli;

import static dev.phiedge.runtime.testutil.Json.at;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.runtime.testutil.Json;
import dev.phiedge.runtime.testutil.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The phi3 command line's observable contract, checked against llama.cpp's outputs. */
class Phi3CliTest {

    private record Result(int status, String out, String err) { }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new Phi3Cli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Object golden(String file, String prompt) throws Exception {
        Object g = Json.parse(SharedData.require("testdata/phi3-tiny/golden.json"));
        for (Object f : Json.list(at(g, "files"))) {
            if (!Json.str(at(f, "file")).equals(file)) continue;
            for (Object r : Json.list(at(f, "results"))) if (Json.str(at(r, "prompt")).equals(prompt)) return r;
        }
        throw new AssertionError("no golden for " + file + " " + prompt);
    }

    @Test
    void generateJsonGivesTheReferencePromptIdsGreedyTokensTextAndTopLogits() throws Exception {
        Path dir = SharedData.require("testdata/phi3-tiny");
        Object ref = golden("phi3-tiny-a.Q8_0.gguf", "p2");
        Result r = run("generate", "--model", dir.resolve("phi3-tiny-a.Q8_0.gguf").toString(), "--prompt",
                Files.readString(dir.resolve("prompts/p2.txt")), "--max-tokens", "32", "--temperature", "0", "--top-logits", "10",
                "--context", "512", "--threads", "1", "--json");
        assertEquals(0, r.status(), r.err());
        Object json = Json.parse(r.out());
        assertArrayEquals(Json.ints(at(ref, "prompt_tokens")), Json.ints(at(json, "prompt_tokens")));
        assertArrayEquals(Json.ints(at(ref, "greedy", "tokens")), Json.ints(at(json, "tokens")));
        assertEquals(Json.str(at(ref, "greedy", "text")), Json.str(at(json, "text")));
        List<Object> top = Json.list(at(json, "top_logits"));
        assertEquals(10, top.size());
        Set<Long> ours = new HashSet<>();
        for (Object pair : top) ours.add(Json.lng(Json.list(pair).get(0)));
        Set<Long> reference20 = new HashSet<>();
        for (Object pair : Json.list(at(ref, "top20"))) reference20.add(Json.lng(Json.list(pair).get(0)));
        assertTrue(reference20.containsAll(ours), "our top-10 " + ours + " lies within the reference top-20");
        assertEquals(Json.lng(Json.list(Json.list(at(ref, "top10")).get(0)).get(0)), Json.lng(Json.list(top.get(0)).get(0)));
        assertTrue(Json.dbl(at(json, "timings", "generated_tokens_per_s")) > 0);
    }

    @Test
    void tokenizeJsonGivesTheReferenceIds() throws Exception {
        Path dir = SharedData.require("testdata/phi3-tiny");
        Result r = run("tokenize", "--model", dir.resolve("phi3-tiny-a.Q4_0.gguf").toString(), "--text",
                Files.readString(dir.resolve("prompts/p3.txt")), "--json");
        assertEquals(0, r.status(), r.err());
        assertArrayEquals(Json.ints(at(golden("phi3-tiny-a.Q4_0.gguf", "p3"), "prompt_tokens")), Json.ints(at(Json.parse(r.out()), "tokens")));
    }

    @Test
    void classifyAnswersWithOneOfTheLabelsAndADistribution() throws Exception {
        Path model = SharedData.require("models/demo/phi3-edge-demo.Q8_0.gguf");
        Result r = run("classify", "--model", model.toString(),
                "--system", "You watch over a greenhouse. Classify each climate reading as normal, warning or critical.",
                "--chat", "Zone 3: temperature 33.5 C, humidity 60 %, soil moisture 40 %, CO2 800 ppm.",
                "--labels", "normal,warning,critical", "--json");
        assertEquals(0, r.status(), r.err());
        Object json = Json.parse(r.out());
        assertEquals("warning", Json.str(at(json, "label")), "temperature >= 32 is a warning by the demo's rule");
        double sum = 0;
        for (String label : List.of("normal", "warning", "critical")) sum += Json.dbl(at(json, "scores", label));
        assertEquals(1.0, sum, 1e-6);
    }

    @Test
    void inspectListsEveryTensorWithItsTypeShapeAndBytes() throws Exception {
        Path file = SharedData.require("testdata/phi3-tiny/phi3-tiny-a.Q4_K_M.gguf");
        Result r = run("inspect", file.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        Object json = Json.parse(r.out());
        List<Object> tensors = Json.list(at(json, "tensors"));
        assertEquals(15, tensors.size(), "2 layers x 6 + token_embd, output_norm, output");
        for (Object t : tensors) {
            if (Json.str(at(t, "name")).equals("blk.0.attn_qkv.weight")) {
                assertEquals("Q5_K", Json.str(at(t, "type")));
                // 256 x 768 weights in 256-weight Q5_K blocks of 176 bytes (ggml-common.h block_q5_K).
                assertEquals(768L * 176, Json.lng(at(t, "bytes")));
            }
        }
        assertEquals("phi3", Json.str(at(json, "metadata", "general.architecture")));
        Result text = run("inspect", file.toString());
        assertTrue(text.out().contains("blk.1.ffn_down.weight") && text.out().contains("Q6_K"), text.out());
    }

    @Test
    void aBrokenModelFileIsOneClearErrorWithStatusOne(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
        Result r = run("generate", "--model", bad.toString(), "--prompt", "hi");
        assertEquals(1, r.status());
        assertTrue(r.err().contains(bad.toString()) && r.err().contains("offset 8") && r.err().contains("truncated"), r.err());
    }

    @Test
    void commandLineMistakesGiveStatusTwoAndTheUsage() {
        assertEquals(2, run().status());
        Result unknown = run("frobnicate");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("unknown command"));
        Result missing = run("generate", "--model");
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("--model needs a value"));
        assertEquals(2, run("generate", "--model", "x.gguf").status(), "neither --prompt nor --chat");
        assertEquals(2, run("classify", "--model", "x", "--prompt", "p", "--labels", "one").status());
    }
}
