package dev.phiedge.runtime.cli;

import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.generate.Session;
import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.gguf.GgufTensorInfo;
import dev.phiedge.runtime.model.DecoderModel;
import dev.phiedge.runtime.model.InferenceState;
import dev.phiedge.runtime.model.ModelConfig;
import dev.phiedge.runtime.matmul.KernelPlan;
import dev.phiedge.runtime.plan.KernelPlanner;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code phi3 bench --model MODEL [--prompt-tokens 128] [--gen-tokens 64] [--threads N] [--repeat 3]
 * [--prefix-tokens N] [--context N] [--json]}: the speed of one model file, as llama-bench measures it.
 *
 * <ul>
 *   <li>pp: tokens/s evaluating {@code prompt-tokens} tokens from an empty cache (logits of the last
 *       position only);</li>
 *   <li>tg: tokens/s generating {@code gen-tokens} tokens one at a time after that prompt, greedily,
 *       end-of-generation ignored: always exactly that many forward passes;</li>
 *   <li>the median of {@code repeat} runs of each (after one short warm-up pass, not counted); every
 *       sample is reported too;</li>
 *   <li>time-to-ready (mapping the file, building the model and a session), heap used after a GC,
 *       resident memory from /proc/self/status (anonymous and file-backed), KV-cache bytes, weight bytes
 *       read per generated token and the bandwidth that implies, heap bytes allocated per token
 *       (all threads, the last repeat; 0 once the kernels are compiled);</li>
 *   <li>with {@code --prefix-tokens N}: a request of N + prompt-tokens tokens evaluated from nothing,
 *       against the same request started from a saved snapshot of its first N tokens
 *       ({@link Session#savePrefix}).</li>
 * </ul>
 * Prompt tokens are ordinary text tokens: BOS and then a fixed English text, tokenized and repeated.
 */
final class BenchCommand {
    /** Decoding allocates a few dozen bytes a token; kilobytes mean a kernel boxes vectors (see KernelSpecies). */
    private static final long BOXING_BYTES_PER_TOKEN = 4096;

    static final int DEFAULT_PROMPT_TOKENS = 128;
    static final int DEFAULT_GEN_TOKENS = 64;
    static final int DEFAULT_REPEAT = 3;

    private static final String TEXT = "The pump in building 7 stopped at 3:15 pm after the pressure sensor reported 41.5 bar. "
            + "Maintenance checked the valves, replaced a worn seal and restarted the line; temperature readings returned to normal "
            + "within ten minutes, and the operator logged the event for the weekly review. ";

    private BenchCommand() { }

    private static KernelPlanner.Mode parseMode(String s) {
        try {
            return KernelPlanner.Mode.parse(s);
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException("--kernels: " + e.getMessage());
        }
    }

    static int run(Args a, PrintStream out, PrintStream err) throws IOException {
        int promptTokens = positive(a, "prompt-tokens", DEFAULT_PROMPT_TOKENS);
        int genTokens = a.integer("gen-tokens", DEFAULT_GEN_TOKENS);
        int repeat = positive(a, "repeat", DEFAULT_REPEAT);
        int prefixTokens = a.integer("prefix-tokens", 0);
        int threads = positive(a, "threads", Math.max(1, Runtime.getRuntime().availableProcessors()));
        if (genTokens < 0 || prefixTokens < 0) throw new Args.UsageException("--gen-tokens and --prefix-tokens cannot be negative");
        int needed = Math.max(promptTokens + genTokens, prefixTokens + promptTokens);
        int context = a.integer("context", Math.max(Phi3Cli.DEFAULT_CONTEXT, needed));
        if (context < needed) throw new Args.UsageException("--context " + context + " is too small for " + needed + " tokens");
        Path path = Phi3Cli.modelFile(a.string("model"));

        KernelPlanner system = KernelPlanner.fromSystemProperties();
        KernelPlanner planner = a.string("kernels", null) == null ? system
                : system.withMode(parseMode(a.string("kernels")));

        long loadStart = System.nanoTime();
        try (LanguageModel lm = LanguageModel.load(path, context, threads, planner);
             Session session = lm.newSession()) {
            long loadNanos = System.nanoTime() - loadStart;
            for (String note : lm.kernelPlanNotes()) err.println("phi3 bench: " + note);
            Map<String, Object> r = measure(lm, session, path, promptTokens, genTokens, repeat, prefixTokens, err);
            r.put("load_ms", ms(loadNanos));
            r.put("kernel_plan", planner.mode().name().toLowerCase(java.util.Locale.ROOT));
            r.put("kernels", lm.kernelPlan().choices().stream().map(KernelPlan.Choice::describe).toList());
            memory(r, session.state());
            if (a.flag("json")) {
                out.println(JsonWriter.write(r));
            } else {
                printTable(r, out);
            }
        }
        return 0;
    }

    private static Map<String, Object> measure(LanguageModel lm, Session session, Path path, int promptTokens, int genTokens,
                                               int repeat, int prefixTokens, PrintStream err) throws IOException {
        DecoderModel model = lm.model();
        ModelConfig c = lm.config();
        InferenceState state = session.state();
        int[] stream = tokens(lm, prefixTokens + promptTokens);
        int[] prompt = Arrays.copyOf(stream, promptTokens);

        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", path.toString());
        r.put("file_bytes", Files.size(path));
        r.put("name", c.name());
        r.put("types", typeSummary(lm));
        r.put("n_embd", c.embeddingLength());
        r.put("n_layer", c.layerCount());
        r.put("n_vocab", c.vocabularySize());
        r.put("threads", lm.threads());
        r.put("context", lm.contextLength());
        r.put("prompt_tokens", promptTokens);
        r.put("gen_tokens", genTokens);
        r.put("repeat", repeat);

        long warm = System.nanoTime();
        state.truncate(0);
        model.forward(state, prompt, 0, Math.min(8, promptTokens), true);
        for (int i = 0; i < 2 && genTokens > 0; i++) model.forward(state, new int[] {argmax(state.logits())}, 0, 1, true);
        r.put("warmup_ms", ms(System.nanoTime() - warm));

        double[] pp = new double[repeat];
        double[] tg = new double[repeat];
        int[] next = new int[1];
        long ppAllocated = -1, tgAllocated = -1;
        for (int i = 0; i < repeat; i++) {
            state.truncate(0);
            long a0 = allocatedBytes();
            long t0 = System.nanoTime();
            model.forward(state, prompt, 0, promptTokens, true);
            long t1 = System.nanoTime();
            long a1 = allocatedBytes();
            for (int g = 0; g < genTokens; g++) {
                next[0] = argmax(state.logits());
                model.forward(state, next, 0, 1, true);
            }
            long t2 = System.nanoTime();
            long a2 = allocatedBytes();
            if (a0 >= 0) { // the last repeat's: compiled by then
                ppAllocated = (a1 - a0) / Math.max(1, promptTokens);
                tgAllocated = genTokens == 0 ? 0 : (a2 - a1) / genTokens;
            }
            pp[i] = promptTokens / ((t1 - t0) / 1e9);
            tg[i] = genTokens == 0 ? 0 : genTokens / ((t2 - t1) / 1e9);
            err.printf("phi3 bench: run %d/%d: pp %.2f t/s, tg %.2f t/s%n", i + 1, repeat, pp[i], tg[i]);
        }
        if (tgAllocated > BOXING_BYTES_PER_TOKEN) {
            err.printf("phi3 bench: warning: decoding allocated %,d bytes a token (a compiled decode allocates next to none):"
                    + " C2 compiled a kernel that boxes its vectors, and these figures are not the kernels' speed; run again"
                    + " (README, Performance)%n", tgAllocated);
        }
        double tgMedian = median(tg);
        r.put("pp_tokens_per_s", round(median(pp)));
        r.put("tg_tokens_per_s", round(tgMedian));
        r.put("pp_samples", rounded(pp));
        r.put("tg_samples", rounded(tg));
        long perToken = model.weightBytesPerToken();
        r.put("weight_bytes_per_token", perToken);
        r.put("tg_weight_gb_per_s", round(perToken * tgMedian / 1e9));
        r.put("pp_allocated_bytes_per_token", ppAllocated);
        r.put("tg_allocated_bytes_per_token", tgAllocated);
        r.put("logits_finite", allFinite(state.logits()));
        if (prefixTokens > 0) r.put("prefix", prefix(session, state, model, Arrays.copyOf(stream, prefixTokens + promptTokens),
                prefixTokens, repeat));
        return r;
    }

    /** The same request from an empty cache and from a saved prefix snapshot. */
    private static Map<String, Object> prefix(Session session, InferenceState state, DecoderModel model, int[] request, int prefixTokens,
                                              int repeat) {
        double[] cold = new double[repeat];
        double[] warm = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            state.truncate(0);
            long t0 = System.nanoTime();
            model.forward(state, request, 0, request.length, true);
            cold[i] = (System.nanoTime() - t0) / 1e6;
        }
        state.truncate(0);
        long s0 = System.nanoTime();
        Session.SavedPrefix saved = session.savePrefix(Arrays.copyOf(request, prefixTokens));
        double saveMs = (System.nanoTime() - s0) / 1e6;
        int reused = 0;
        for (int i = 0; i < repeat; i++) {
            state.truncate(0);
            long t0 = System.nanoTime();
            reused = session.prefill(request);
            warm[i] = (System.nanoTime() - t0) / 1e6;
        }
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("prefix_tokens", prefixTokens);
        p.put("request_tokens", request.length);
        p.put("reused_tokens", reused);
        p.put("save_prefix_ms", round(saveMs));
        p.put("snapshot_bytes", saved.snapshot().byteSize());
        p.put("cold_ms", round(median(cold)));
        p.put("from_prefix_ms", round(median(warm)));
        p.put("speedup", round(median(cold) / median(warm)));
        return p;
    }

    /** BOS, then the fixed text tokenized (without BOS) and repeated, cut to {@code n} tokens. */
    static int[] tokens(LanguageModel lm, int n) {
        int[] text = lm.tokenizer().encode(TEXT, false, false);
        int[] out = new int[n];
        int bos = lm.tokenizer().vocabulary().bos();
        for (int i = 0; i < n; i++) out[i] = i == 0 ? bos : text[(i - 1) % text.length];
        return out;
    }

    /** Heap after a GC, resident memory split into anonymous and file-backed, and the KV cache. */
    private static void memory(Map<String, Object> r, InferenceState state) throws IOException {
        System.gc();
        r.put("heap_used_bytes", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        r.put("heap_max_bytes", Runtime.getRuntime().maxMemory());
        Map<String, Long> status = procStatus();
        r.put("rss_bytes", status.getOrDefault("VmRSS", -1L));
        r.put("rss_anon_bytes", status.getOrDefault("RssAnon", -1L));
        r.put("rss_file_bytes", status.getOrDefault("RssFile", -1L));
        r.put("rss_peak_bytes", status.getOrDefault("VmHWM", -1L));
        r.put("kv_cache_bytes", state.cache().byteSize());
        r.put("cpus", Runtime.getRuntime().availableProcessors());
        r.put("cpu", cpuName());
        r.put("java", System.getProperty("java.vm.name") + " " + Runtime.version());
    }

    /**
     * Heap bytes allocated so far by all threads (the team's included), or -1 where the JVM cannot tell
     * (no jdk.management module, as in a jlink'd runtime without it).
     */
    private static long allocatedBytes() {
        try {
            return ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                    ? t.getTotalThreadAllocatedBytes() : -1;
        } catch (LinkageError | UnsupportedOperationException e) {
            return -1;
        }
    }

    /** The kB fields of /proc/self/status, in bytes (empty where there is no /proc). */
    static Map<String, Long> procStatus() throws IOException {
        Map<String, Long> m = new LinkedHashMap<>();
        Path p = Path.of("/proc/self/status");
        if (!Files.isReadable(p)) return m;
        for (String line : Files.readAllLines(p)) {
            String[] parts = line.split("\\s+");
            if (parts.length == 3 && parts[2].equals("kB") && parts[0].endsWith(":")) {
                m.put(parts[0].substring(0, parts[0].length() - 1), Long.parseLong(parts[1]) * 1024);
            }
        }
        return m;
    }

    private static String cpuName() throws IOException {
        Path p = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(p)) return System.getProperty("os.arch");
        for (String line : Files.readAllLines(p)) {
            if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
        }
        return System.getProperty("os.arch");
    }

    /** Tensor count and bytes per ggml type. */
    private static Map<String, Object> typeSummary(LanguageModel lm) {
        Map<GgmlType, long[]> byType = new EnumMap<>(GgmlType.class);
        for (GgufTensorInfo t : lm.file().tensors()) {
            long[] v = byType.computeIfAbsent(t.type(), k -> new long[2]);
            v[0]++;
            v[1] += t.byteSize();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        byType.forEach((type, v) -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("tensors", v[0]);
            row.put("bytes", v[1]);
            m.put(type.name(), row);
        });
        return m;
    }

    private static void printTable(Map<String, Object> r, PrintStream out) {
        out.printf("model        %s (%s), %,d bytes%n", r.get("model"), r.get("name"), (Long) r.get("file_bytes"));
        out.printf("machine      %s, %s cpus, %s%n", r.get("cpu"), r.get("cpus"), r.get("java"));
        out.printf("threads      %s, context %s, time to ready %s ms%n", r.get("threads"), r.get("context"), r.get("load_ms"));
        out.printf("%-12s %14s %s%n", "test", "tokens/s", "samples");
        out.printf("%-12s %14s %s%n", "pp" + r.get("prompt_tokens"), r.get("pp_tokens_per_s"), r.get("pp_samples"));
        out.printf("%-12s %14s %s%n", "tg" + r.get("gen_tokens"), r.get("tg_tokens_per_s"), r.get("tg_samples"));
        out.printf("weights      %,d bytes/token -> %s GB/s at the tg median%n", (Long) r.get("weight_bytes_per_token"), r.get("tg_weight_gb_per_s"));
        out.printf("allocated    %s bytes/token in pp, %s in tg (heap garbage; the last repeat)%n",
                r.get("pp_allocated_bytes_per_token"), r.get("tg_allocated_bytes_per_token"));
        out.printf("memory       heap %s MB (max %s MB), RSS %s MB (anon %s, file %s, peak %s), KV cache %s MB%n",
                mb(r.get("heap_used_bytes")), mb(r.get("heap_max_bytes")), mb(r.get("rss_bytes")), mb(r.get("rss_anon_bytes")),
                mb(r.get("rss_file_bytes")), mb(r.get("rss_peak_bytes")), mb(r.get("kv_cache_bytes")));
        if (r.get("prefix") instanceof Map<?, ?> p) {
            out.printf("prefix       %s of %s tokens saved: %s ms from scratch, %s ms from the prefix (x%s); save took %s ms%n",
                    p.get("prefix_tokens"), p.get("request_tokens"), p.get("cold_ms"), p.get("from_prefix_ms"), p.get("speedup"),
                    p.get("save_prefix_ms"));
        }
        out.printf("types        %s%n", r.get("types"));
        List<?> kernels = (List<?>) r.get("kernels");
        if (kernels.isEmpty()) {
            out.printf("kernels      built-in rules (%s)%n", r.get("kernel_plan").equals("rules") ? "--kernels rules" : "no type with an integer kernel");
        }
        for (int i = 0; i < kernels.size(); i++) out.printf("%-12s %s%n", i == 0 ? "kernels" : "", kernels.get(i));
    }

    private static String mb(Object bytes) {
        return String.valueOf(Math.round(((Number) bytes).doubleValue() / (1 << 20)));
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static boolean allFinite(float[] v) {
        for (float f : v) if (!Float.isFinite(f)) return false;
        return true;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double round(double v) { return Math.round(v * 1000) / 1000.0; }

    private static double ms(long nanos) { return round(nanos / 1e6); }

    private static List<Double> rounded(double[] v) { return Arrays.stream(v).map(BenchCommand::round).boxed().toList(); }

    private static int positive(Args a, String name, int fallback) {
        int v = a.integer(name, fallback);
        if (v < 1) throw new Args.UsageException("--" + name + " must be at least 1");
        return v;
    }
}
