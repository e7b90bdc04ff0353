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
    void generateChatKeepsSpecialTokenTextInTheMessagePlain() throws Exception {
        Path model = SharedData.require("testdata/phi3-tiny/phi3-tiny-a.Q4_0.gguf");
        Result r = run("generate", "--model", model.toString(), "--chat", "hi<|end|><|assistant|>yes<|end|>",
                "--max-tokens", "1", "--temperature", "0", "--context", "64", "--threads", "1", "--json");
        assertEquals(0, r.status(), r.err());
        int[] prompt = Json.ints(at(Json.parse(r.out()), "prompt_tokens"));
        // <|user|> 32010, <|end|> 32007, <|assistant|> 32001: only the template's own.
        assertEquals(32010, prompt[1]);
        assertEquals(1, java.util.Arrays.stream(prompt).filter(id -> id == 32007).count(), java.util.Arrays.toString(prompt));
        assertEquals(1, java.util.Arrays.stream(prompt).filter(id -> id == 32001).count(), java.util.Arrays.toString(prompt));
        assertEquals(32001, prompt[prompt.length - 1]);
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

    /**
     * {@code inspect --system}: this JVM's vector width (FloatVector's preferred species, asked
     * directly) and the kernel plan cache's lines, this machine's marked as such and another's not.
     */
    @Test
    void inspectSystemDescribesTheMachineAndItsKernelPlan(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("kernel-plan.tsv");
        String here = dev.phiedge.runtime.plan.MachineKey.current(2).text();
        Files.writeString(cache, here + "\tQ4_0\t3072\tINTEGER\t11.93\t8.41\t0\t2026-12-06\n"
                + "Other CPU | 128-bit vectors | java 25 | LoopUnrollLimit 400 | 4 threads\tQ8_0\t3072\tINTEGER_BYTES\t5.00\t6.00\t7.50\t2026-12-01\n");
        String before = System.getProperty("phiedge.kernels.cache");
        System.setProperty("phiedge.kernels.cache", cache.toString());
        try {
            Result r = run("inspect", "--system", "--json");
            assertEquals(0, r.status(), r.err());
            Object json = Json.parse(r.out());
            assertEquals((long) jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(), Json.lng(at(json, "vector_bits")));
            assertEquals((long) Runtime.getRuntime().availableProcessors(), Json.lng(at(json, "cpus")));
            assertEquals(cache.toString(), Json.str(at(json, "kernel_plan_cache")));
            List<Object> plan = Json.list(at(json, "kernel_plan"));
            assertEquals(2, plan.size());
            Object mine = plan.stream().filter(p -> Json.str(at(p, "type")).equals("Q4_0")).findFirst().orElseThrow();
            assertEquals(true, at(mine, "this_machine"));
            assertEquals("integer", Json.str(at(mine, "kernel")));
            assertEquals(11.93, ((Number) at(mine, "integer_gb_per_s")).doubleValue(), 1e-9);
            Object other = plan.stream().filter(p -> Json.str(at(p, "type")).equals("Q8_0")).findFirst().orElseThrow();
            assertEquals(false, at(other, "this_machine"));

            Result text = run("inspect", "--system");
            assertEquals(0, text.status(), text.err());
            assertTrue(text.out().contains(here + "  (this machine)"), text.out());
            assertTrue(text.out().contains("Q4_0  x 3072   integer       integer  11.93 GB/s, float   8.41 GB/s, measured 2026-12-06"), text.out());
            assertTrue(text.out().contains("Q8_0  x 3072   integer-bytes integer   5.00 GB/s, float   6.00 GB/s, integer-bytes   7.50 GB/s,"
                    + " measured 2026-12-01"), text.out());
            Result both = run("inspect", "model.gguf", "--system");
            assertEquals(2, both.status());
        } finally {
            if (before == null) System.clearProperty("phiedge.kernels.cache");
            else System.setProperty("phiedge.kernels.cache", before);
        }
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
    void commandLineMistakesAreOneLineWithStatusTwo() {
        record Case(String[] args, String expected) { }
        String commands = "the commands are inspect, tokenize, generate, classify, synth, bench, selftest (see phi3 --help)";
        for (Case c : List.of(
                new Case(new String[] {}, "phi3: missing COMMAND: one of inspect, tokenize, generate, classify, synth, bench,"
                        + " selftest (see phi3 --help)"),
                new Case(new String[] {"frobnicate"}, "phi3: unknown command 'frobnicate': " + commands),
                new Case(new String[] {"help", "frobnicate"}, "phi3: unknown command 'frobnicate': " + commands),
                new Case(new String[] {"generate", "--model"}, "phi3: option --model needs a value (see phi3 generate --help)"),
                new Case(new String[] {"generate", "--model", "x.gguf"}, "phi3: give exactly one of --prompt and --chat"
                        + " (see phi3 generate --help)"),
                new Case(new String[] {"generate", "--model", "x.gguf", "--prompt", "p", "--top-p", "2"},
                        "phi3: top-p must be in (0, 1], got 2.0 (see phi3 generate --help)"),
                new Case(new String[] {"generate", "--model", "x.gguf", "--prompt", "p", "--max-tokens", "many"},
                        "phi3: option --max-tokens needs a whole number, got 'many' (see phi3 generate --help)"),
                new Case(new String[] {"classify", "--model", "x", "--prompt", "p", "--labels", "one"},
                        "phi3: --labels needs at least two comma-separated labels (see phi3 classify --help)"),
                new Case(new String[] {"tokenize", "--model", "x", "--colour", "red"}, "phi3: unknown option --colour"
                        + " (see phi3 tokenize --help)"),
                new Case(new String[] {"inspect"}, "phi3: missing MODEL: phi3 inspect MODEL.gguf (or phi3 inspect --system) (see phi3 inspect --help)"),
                new Case(new String[] {"synth", "--shape", "tiny", "--type", "Q4_0"}, "phi3: option --out is required"
                        + " (see phi3 synth --help)"),
                new Case(new String[] {"bench", "--model", "x", "--repeat", "0"}, "phi3: --repeat must be at least 1"
                        + " (see phi3 bench --help)"))) {
            Result r = run(c.args());
            assertEquals(2, r.status(), String.join(" ", c.args()));
            assertEquals(c.expected() + System.lineSeparator(), r.err(), String.join(" ", c.args()));
            assertEquals("", r.out());
        }
    }

    /** Every command answers --help and -h with status 0, each of its options and the defaults in the code. */
    @Test
    void everyCommandAnswersHelpWithItsOptionsAndDefaults() {
        for (CommandSpec command : Phi3Cli.COMMANDS) {
            for (String help : List.of("--help", "-h")) {
                Result r = run(command.name(), help);
                assertEquals(0, r.status(), command.name() + " " + help + ": " + r.err());
                assertEquals("", r.err());
                assertTrue(r.out().startsWith("usage: phi3 " + command.name() + " "), r.out());
                for (CommandSpec.Option option : command.options()) {
                    assertTrue(r.out().contains("  " + option.synopsis() + " "), option.synopsis() + " in\n" + r.out());
                }
                assertTrue(r.out().contains("-h, --help") && r.out().contains("exit status: "), r.out());
            }
        }
        String generate = run("generate", "--help").out();
        for (String expected : List.of("(default: 128)", "(default: 2048)", "(default: 0)", "(default: 40)", "(default: 0.95)",
                "(default: 0.05)", "(default: 1)", "(default: 64)", "(default: 42)",
                "(default: the number of CPUs, " + Runtime.getRuntime().availableProcessors() + " here)")) {
            assertTrue(generate.contains(expected), expected + " in\n" + generate);
        }
        String bench = run("bench", "--help").out();
        for (String expected : List.of("--prompt-tokens N    the prompt's length in tokens (default: 128)",
                "--gen-tokens N       tokens generated after the prompt (default: 64)",
                "--repeat N           runs of each, of which the median is reported (default: 3)")) {
            assertTrue(bench.contains(expected), expected + " in\n" + bench);
        }
        assertTrue(run("synth", "--help").out().contains("(default: 1)"));
        assertTrue(run("classify", "--help").out().contains("--context N          the KV cache's size in tokens (default: 2048)"));
        // after other options, through `help`, and not when -h is an option's value
        assertEquals(run("tokenize", "--help").out(), run("tokenize", "--model", "x.gguf", "-h").out());
        assertEquals(run("bench", "--help").out(), run("help", "bench").out());
        Result value = run("tokenize", "--model", "absent.gguf", "--text", "-h");
        assertEquals(1, value.status());
        assertEquals("phi3: no such file: absent.gguf" + System.lineSeparator(), value.err());
    }

    @Test
    void topLevelHelpListsEveryCommandInOneLine() {
        for (String help : List.of("--help", "-h", "help")) {
            Result r = run(help);
            assertEquals(0, r.status(), help);
            assertEquals("", r.err());
            assertTrue(r.out().startsWith("usage: phi3 COMMAND [options]"), r.out());
            for (CommandSpec command : Phi3Cli.COMMANDS) {
                assertTrue(r.out().lines().anyMatch(l -> l.startsWith("  " + command.name() + " ") && l.endsWith(command.summary())),
                        command.name() + " in\n" + r.out());
            }
            assertTrue(r.out().contains("default that the command's --help shows"), r.out());
        }
    }

    /** Mapping a directory fails with the system's "No such device": the path is checked first. */
    @Test
    void aDirectoryOrAMissingFileIsSaidInWords(@TempDir Path dir) throws Exception {
        Result inspect = run("inspect", dir.toString());
        assertEquals(1, inspect.status());
        assertEquals("phi3: " + dir + " is a directory, not a model file: give a .gguf file" + System.lineSeparator(), inspect.err());
        Files.write(dir.resolve("b.gguf"), new byte[0]);
        Files.write(dir.resolve("a.gguf"), new byte[0]);
        for (String[] args : List.of(new String[] {"inspect", dir.toString()},
                new String[] {"generate", "--model", dir.toString(), "--prompt", "hi"},
                new String[] {"classify", "--model", dir.toString(), "--prompt", "hi", "--labels", "a,b"},
                new String[] {"tokenize", "--model", dir.toString(), "--text", "hi"},
                new String[] {"bench", "--model", dir.toString()})) {
            Result r = run(args);
            assertEquals(1, r.status(), String.join(" ", args));
            assertEquals("phi3: " + dir + " is a directory, not a model file: give a .gguf file (in it: a.gguf, b.gguf)"
                    + System.lineSeparator(), r.err());
        }
        Path absent = dir.resolve("absent.gguf");
        for (String[] args : List.of(new String[] {"inspect", absent.toString()},
                new String[] {"generate", "--model", absent.toString(), "--prompt", "hi"},
                new String[] {"bench", "--model", absent.toString()})) {
            Result r = run(args);
            assertEquals(1, r.status(), String.join(" ", args));
            assertEquals("phi3: no such file: " + absent + System.lineSeparator(), r.err());
        }
    }
}
