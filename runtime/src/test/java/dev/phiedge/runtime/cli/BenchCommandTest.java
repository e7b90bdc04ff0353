package dev.phiedge.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.runtime.testutil.Json;
import dev.phiedge.runtime.testutil.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code phi3 synth} then {@code phi3 bench} on the tiny shape, through the command line. Timings are never asserted. */
class BenchCommandTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) { }

    private static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new Phi3Cli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path tinyModel(String type) {
        Path vocab = SharedData.require("testdata/tokenizer/ggml-vocab-phi-3.gguf");
        Path model = dir.resolve("tiny." + type + ".gguf");
        Run synth = cli("synth", "--shape", "tiny", "--type", type, "--seed", "11", "--vocab", vocab.toString(), "--out", model.toString(), "--json");
        assertEquals(0, synth.status(), synth.err());
        Map<String, Object> s = Json.obj(Json.parse(synth.out()));
        assertEquals(15L, s.get("tensors"));
        assertTrue(Files.isRegularFile(model));
        return model;
    }

    @Test
    void benchReportsConsistentNumbers() throws Exception {
        Path model = tinyModel("Q4_K_M");
        Run bench = cli("bench", "--model", model.toString(), "--prompt-tokens", "12", "--gen-tokens", "5", "--repeat", "3",
                "--threads", "1", "--context", "64", "--prefix-tokens", "20", "--json");
        assertEquals(0, bench.status(), bench.err());
        Map<String, Object> r = Json.obj(Json.parse(bench.out()));
        for (String key : List.of("load_ms", "pp_tokens_per_s", "tg_tokens_per_s", "heap_used_bytes", "rss_bytes", "kv_cache_bytes",
                "weight_bytes_per_token", "tg_weight_gb_per_s")) {
            assertTrue(Json.dbl(r.get(key)) > 0, key + " = " + r.get(key));
        }
        assertEquals(12L, r.get("prompt_tokens"));
        assertEquals(5L, r.get("gen_tokens"));
        assertEquals(1L, r.get("threads"));
        assertEquals(64L, r.get("context"));
        assertEquals(3, Json.list(r.get("pp_samples")).size());
        assertEquals(3, Json.list(r.get("tg_samples")).size());
        assertEquals(true, r.get("logits_finite"));
        // measured (-1 would mean the JVM cannot tell, which a full JDK with jdk.management always can)
        for (String key : List.of("pp_allocated_bytes_per_token", "tg_allocated_bytes_per_token")) {
            assertTrue(Json.lng(r.get(key)) >= 0, key + " = " + r.get(key));
        }
        // K and V, every layer, every position, kv_dim halves: 2 * 2 layers * 64 * 256 * 2 bytes
        assertEquals(2L * 2 * 64 * 256 * 2, Json.lng(r.get("kv_cache_bytes")));
        // every blk.* matrix and the Q6_K output once, one Q4_K row of token_embd (256 weights = 144 bytes)
        long perToken = 2 * (36_864 + 135_168 + 147_456 + 2 * 1024) + 73_728 + 107_520 + 6_733_440 + 144;
        assertEquals(perToken, Json.lng(r.get("weight_bytes_per_token")));
        double gbps = perToken * Json.dbl(r.get("tg_tokens_per_s")) / 1e9;
        assertEquals(gbps, Json.dbl(r.get("tg_weight_gb_per_s")), 0.002 + gbps * 0.01);
        assertTrue(Json.lng(r.get("heap_used_bytes")) <= Json.lng(r.get("heap_max_bytes")));
        Map<String, Object> types = Json.obj(r.get("types"));
        assertEquals(List.of("F32", "Q4_K", "Q5_K", "Q6_K"), List.copyOf(types.keySet()));
        assertEquals(2L, Json.obj(types.get("Q6_K")).get("tensors"));

        Map<String, Object> prefix = Json.obj(r.get("prefix"));
        assertEquals(20L, prefix.get("prefix_tokens"));
        assertEquals(32L, prefix.get("request_tokens"));
        assertEquals(20L, prefix.get("reused_tokens"));
        assertEquals(2L * 2 * 20 * 256 * 2, Json.lng(prefix.get("snapshot_bytes")));
        assertTrue(Json.dbl(prefix.get("cold_ms")) > 0 && Json.dbl(prefix.get("from_prefix_ms")) > 0);
    }

    /**
     * {@code --kernels measure} measures each group of matrices with an integer kernel once, says which
     * kernel it took and on what figures, and reads the plan cache the next time; {@code rules} measures
     * nothing. The cache goes to a temporary file ({@code phiedge.kernels.cache}).
     */
    @Test
    void benchNamesEachGroupsKernelAndWhy() throws Exception {
        Path model = tinyModel("Q4_0");
        Path cache = dir.resolve("plan/kernel-plan.tsv");
        String before = System.getProperty("phiedge.kernels.cache");
        System.setProperty("phiedge.kernels.cache", cache.toString());
        try {
            String[] args = {"bench", "--model", model.toString(), "--prompt-tokens", "4", "--gen-tokens", "2", "--repeat", "1",
                    "--threads", "1", "--kernels", "measure", "--json"};
            Run first = cli(args);
            assertEquals(0, first.status(), first.err());
            Map<String, Object> r = Json.obj(Json.parse(first.out()));
            assertEquals("measure", r.get("kernel_plan"));
            List<Object> kernels = Json.list(r.get("kernels"));
            // the tiny Q4_0 file: Q4_0 matrices and a Q6_K output, as llama-quantize makes them
            assertTrue(kernels.size() >= 1, kernels.toString());
            for (Object k : kernels) {
                assertTrue(((String) k).matches("(Q4_0|Q6_K) x \\d+: (integer|float|integer-bytes) \\(integer [0-9.]+ GB/s(, float [0-9.]+ GB/s)?(, integer-bytes [0-9.]+ GB/s)?: "
                        + "(fastest|within 3%: the built-in rule's); measured now\\)"), (String) k);
            }
            assertTrue(Files.isRegularFile(cache));
            Run second = cli(args);
            List<Object> cached = Json.list(Json.obj(Json.parse(second.out())).get("kernels"));
            assertEquals(kernels.size(), cached.size());
            for (Object k : cached) assertTrue(((String) k).contains("cached, measured " + java.time.LocalDate.now()), (String) k);

            Run rules = cli("bench", "--model", model.toString(), "--prompt-tokens", "4", "--gen-tokens", "2", "--repeat", "1",
                    "--threads", "1", "--kernels", "rules");
            assertEquals(0, rules.status(), rules.err());
            assertTrue(rules.out().contains("kernels      built-in rules (--kernels rules)"), rules.out());
            Run bad = cli("bench", "--model", model.toString(), "--kernels", "fastest");
            assertEquals(2, bad.status());
            assertTrue(bad.err().contains("--kernels: unknown kernel plan mode 'fastest' (use measure, remeasure or rules)"), bad.err());
        } finally {
            if (before == null) System.clearProperty("phiedge.kernels.cache");
            else System.setProperty("phiedge.kernels.cache", before);
        }
    }

    @Test
    void tableWithoutJsonAndUsageErrors() {
        Path model = tinyModel("Q4_0");
        Run table = cli("bench", "--model", model.toString(), "--prompt-tokens", "4", "--gen-tokens", "2", "--repeat", "1", "--threads", "1");
        assertEquals(0, table.status(), table.err());
        assertTrue(table.out().contains("pp4") && table.out().contains("tg2") && table.out().contains("KV cache"), table.out());

        Run tooSmall = cli("bench", "--model", model.toString(), "--prompt-tokens", "40", "--gen-tokens", "40", "--context", "64");
        assertEquals(2, tooSmall.status());
        assertTrue(tooSmall.err().contains("--context 64 is too small"), tooSmall.err());
        Run badShape = cli("synth", "--shape", "huge", "--type", "Q4_0", "--out", dir.resolve("x").toString());
        assertEquals(1, badShape.status());
        assertTrue(badShape.err().contains("unknown shape 'huge'"), badShape.err());
    }

    @Test
    void synthDryRunPrintsTheTableWithoutWriting() {
        Run plan = cli("synth", "--shape", "phi3-mini-4k", "--type", "Q4_K_M", "--dry-run", "--json");
        assertEquals(0, plan.status(), plan.err());
        Map<String, Object> r = Json.obj(Json.parse(plan.out()));
        assertEquals(195, Json.list(r.get("tensors")).size());
        assertEquals(2_393_231_232L - 737_664L, Json.lng(r.get("tensor_bytes")));
    }
}
