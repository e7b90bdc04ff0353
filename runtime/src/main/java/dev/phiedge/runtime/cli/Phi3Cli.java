package dev.phiedge.runtime.cli;

import dev.phiedge.runtime.generate.Generation;
import dev.phiedge.runtime.generate.GenerationListener;
import dev.phiedge.runtime.generate.LabelScores;
import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.generate.SamplerSettings;
import dev.phiedge.runtime.generate.Session;
import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufFormatException;
import dev.phiedge.runtime.gguf.GgufTensorInfo;
import dev.phiedge.runtime.gguf.GgufValue;
import dev.phiedge.runtime.model.ContextOverflowException;
import dev.phiedge.runtime.tokenizer.ChatTemplate;
import dev.phiedge.runtime.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code phi3}: the runtime's command line. JSON answers go to stdout as one object; progress and
 * errors go to stderr. Exit status 0 on success, 1 on a failure (bad model file, prompt too long),
 * 2 on a command-line mistake.
 */
public final class Phi3Cli {
    private static final String USAGE = """
            usage: phi3 <command> [options]
              inspect MODEL [--json]                     metadata and tensor table
              tokenize --model MODEL --text TEXT [--no-bos] [--no-special] [--json]
              generate --model MODEL (--prompt TEXT | --chat TEXT [--system TEXT])
                       [--max-tokens N] [--context N] [--threads N] [--temperature T] [--top-k K]
                       [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S] [--top-logits K] [--json]
              classify --model MODEL (--prompt TEXT | --chat TEXT [--system TEXT]) --labels a,b,c
                       [--context N] [--threads N] [--json]
              synth    --shape phi3-mini-4k|phi3-mini-128k|tiny --type F16|Q8_0|Q4_0|Q4_K_M --seed S
                       [--vocab VOCAB.gguf] --out FILE [--dry-run] [--json]
              bench    --model MODEL [--prompt-tokens N] [--gen-tokens N] [--prefix-tokens N]
                       [--threads N] [--repeat N] [--context N] [--json]
            """;

    private final PrintStream out;
    private final PrintStream err;

    Phi3Cli(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.exit(new Phi3Cli(out, System.err).run(args));
    }

    int run(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            out.print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        try {
            return switch (args[0]) {
                case "inspect" -> inspect(args);
                case "tokenize" -> tokenize(new Args(args, 1, List.of("model", "text"), List.of("json", "no-bos", "no-special")));
                case "generate" -> generate(new Args(args, 1, List.of("model", "prompt", "chat", "system", "max-tokens", "context",
                        "threads", "temperature", "top-k", "top-p", "min-p", "repeat-penalty", "repeat-last-n", "seed", "top-logits"),
                        List.of("json")));
                case "classify" -> classify(new Args(args, 1, List.of("model", "prompt", "chat", "system", "labels", "context", "threads"),
                        List.of("json")));
                case "synth" -> SynthCommand.run(new Args(args, 1, SynthCommand.VALUED, SynthCommand.BOOLEANS), out, err);
                case "bench" -> BenchCommand.run(new Args(args, 1, BenchCommand.VALUED, BenchCommand.BOOLEANS), out, err);
                default -> throw new Args.UsageException("unknown command '" + args[0] + "'");
            };
        } catch (Args.UsageException e) {
            err.println("phi3: " + e.getMessage());
            err.print(USAGE);
            return 2;
        } catch (GgufFormatException | ContextOverflowException | IllegalArgumentException e) {
            err.println("phi3: " + e.getMessage());
            return 1;
        } catch (NoSuchFileException e) {
            err.println("phi3: no such file: " + e.getFile());
            return 1;
        } catch (IOException e) {
            err.println("phi3: " + e);
            return 1;
        }
    }

    private int inspect(String[] args) throws IOException {
        if (args.length < 2 || args[1].startsWith("--")) throw new Args.UsageException("inspect needs a model file");
        Args opts = new Args(args, 2, List.of(), List.of("json"));
        try (GgufFile f = GgufFile.open(Path.of(args[1]))) {
            if (opts.flag("json")) {
                Map<String, Object> meta = new LinkedHashMap<>();
                f.metadata().forEach((k, v) -> meta.put(k, v.length() > 64 && v.type().name().equals("ARRAY") ? v.display(8) : jsonValue(v)));
                List<Object> tensors = new ArrayList<>();
                for (GgufTensorInfo t : f.tensors()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("name", t.name());
                    row.put("type", t.type().name());
                    row.put("shape", Arrays.stream(t.shape()).boxed().toList());
                    row.put("bytes", t.byteSize());
                    tensors.add(row);
                }
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("file", f.path().toString());
                root.put("version", f.version());
                root.put("size", f.fileSize());
                root.put("metadata", meta);
                root.put("tensors", tensors);
                out.println(JsonWriter.write(root));
                return 0;
            }
            out.printf("%s: GGUF v%d, %,d bytes, %d metadata keys, %d tensors, alignment %d%n", f.path(), f.version(), f.fileSize(),
                    f.metadata().size(), f.tensors().size(), f.alignment());
            out.println();
            f.metadata().forEach((k, v) -> out.printf("  %-45s %s%n", k, v.display(6)));
            out.println();
            out.printf("  %-36s %-6s %-20s %14s%n", "tensor", "type", "shape", "bytes");
            long total = 0;
            for (GgufTensorInfo t : f.tensors()) {
                out.printf("  %-36s %-6s %-20s %,14d%n", t.name(), t.type(), Arrays.toString(t.shape()), t.byteSize());
                total += t.byteSize();
            }
            out.printf("  %-36s %-6s %-20s %,14d%n", "total", "", "", total);
        }
        return 0;
    }

    private static Object jsonValue(GgufValue v) {
        return v.value() instanceof long[] a ? Arrays.stream(a).boxed().toList() : v.value();
    }

    private int tokenize(Args a) throws IOException {
        try (GgufFile f = GgufFile.open(Path.of(a.string("model")))) {
            Tokenizer tokenizer = Tokenizer.fromGguf(f);
            int[] ids = tokenizer.encode(a.string("text"), !a.flag("no-bos"), !a.flag("no-special"));
            if (a.flag("json")) {
                out.println(JsonWriter.write(Map.of("tokens", ids)));
            } else {
                for (int id : ids) out.printf("%6d  %s%n", id, printable(tokenizer.tokenToString(id, true)));
            }
        }
        return 0;
    }

    private static String printable(String piece) {
        return "'" + piece.replace("\n", "\\n").replace("\t", "\\t") + "'";
    }

    /** The prompt text: raw with --prompt, or wrapped in the chat template with --chat. */
    private static String promptText(Args a) {
        if (a.has("prompt") == a.has("chat")) throw new Args.UsageException("give exactly one of --prompt and --chat");
        return a.has("prompt") ? a.string("prompt") : ChatTemplate.phi3().render(a.string("system", null), a.string("chat"));
    }

    private static int threads(Args a) {
        return a.integer("threads", Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    private int generate(Args a) throws IOException {
        String text = promptText(a);
        int maxTokens = a.integer("max-tokens", 128);
        int topLogits = a.integer("top-logits", 0);
        SamplerSettings sampling = new SamplerSettings(a.number("temperature", 0f), a.integer("top-k", 40), a.number("top-p", 0.95f),
                a.number("min-p", 0.05f), a.number("repeat-penalty", 1f), a.integer("repeat-last-n", 64), a.longValue("seed", 42));
        boolean json = a.flag("json");
        long loadStart = System.nanoTime();
        try (LanguageModel lm = LanguageModel.load(Path.of(a.string("model")), a.integer("context", 2048), threads(a));
             Session session = lm.newSession()) {
            long loadNanos = System.nanoTime() - loadStart;
            int[] prompt = lm.encodePrompt(text);
            List<float[]> top = new ArrayList<>();
            GenerationListener listener = new GenerationListener() {
                @Override
                public void onPromptLogits(float[] logits) {
                    top.addAll(topK(logits, topLogits));
                }

                @Override
                public void onToken(int token, String piece) {
                    if (!json) out.print(piece);
                }
            };
            Generation g = session.generate(prompt, maxTokens, sampling, listener, () -> false);
            if (!json) {
                out.println();
                err.printf("prompt %d tokens in %.1f ms, generated %d tokens at %.2f tokens/s (%s)%n", prompt.length, g.promptEvalNanos() / 1e6,
                        g.tokens().length, g.tokens().length * 1e9 / Math.max(1, g.evalNanos()), g.stopReason());
                return 0;
            }
            Map<String, Object> timings = new LinkedHashMap<>();
            timings.put("load_ms", loadNanos / 1e6);
            timings.put("prompt_ms", g.promptEvalNanos() / 1e6);
            timings.put("generate_ms", g.evalNanos() / 1e6);
            timings.put("prompt_tokens_per_s", prompt.length * 1e9 / Math.max(1, g.promptEvalNanos()));
            timings.put("generated_tokens_per_s", g.tokens().length * 1e9 / Math.max(1, g.evalNanos()));
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("prompt_tokens", prompt);
            root.put("tokens", g.tokens());
            root.put("text", g.text());
            root.put("stop_reason", g.stopReason().name().toLowerCase());
            List<Object> topList = new ArrayList<>();
            for (float[] pair : top) topList.add(List.of((int) pair[0], pair[1]));
            root.put("top_logits", topList);
            root.put("timings", timings);
            out.println(JsonWriter.write(root));
        }
        return 0;
    }

    /** The k largest logits as (id, logit) pairs, descending, ties to the lower id. */
    static List<float[]> topK(float[] logits, int k) {
        Integer[] ids = new Integer[logits.length];
        for (int i = 0; i < ids.length; i++) ids[i] = i;
        Arrays.sort(ids, (x, y) -> logits[x] != logits[y] ? Float.compare(logits[y], logits[x]) : Integer.compare(x, y));
        List<float[]> result = new ArrayList<>();
        for (int i = 0; i < Math.min(k, ids.length); i++) result.add(new float[] {ids[i], logits[ids[i]]});
        return result;
    }

    private int classify(Args a) throws IOException {
        String text = promptText(a);
        List<String> labels = Arrays.stream(a.string("labels").split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        if (labels.size() < 2) throw new Args.UsageException("--labels needs at least two comma-separated labels");
        try (LanguageModel lm = LanguageModel.load(Path.of(a.string("model")), a.integer("context", 2048), threads(a));
             Session session = lm.newSession()) {
            int[] prompt = lm.encodePrompt(text);
            LabelScores scores = session.scoreReplies(prompt, labels, lm.replies(text, labels));
            Map<String, Object> scoreMap = new LinkedHashMap<>();
            for (int i = 0; i < labels.size(); i++) scoreMap.put(labels.get(i), scores.probabilities()[i]);
            if (a.flag("json")) {
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("label", scores.best());
                root.put("scores", scoreMap);
                out.println(JsonWriter.write(root));
            } else {
                out.println(scores.best());
                scoreMap.forEach((k, v) -> err.printf("  %-20s %.4f%n", k, (Double) v));
            }
        }
        return 0;
    }
}
