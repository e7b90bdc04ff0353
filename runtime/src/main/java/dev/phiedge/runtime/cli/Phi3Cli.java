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
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code phi3}: the runtime's command line. JSON answers go to stdout as one object; progress and
 * errors go to stderr. Exit status 0 on success, 1 on a failure (bad model file, prompt too long),
 * 2 on a command-line mistake. Every command answers {@code --help} with its options and their defaults;
 * every error line starts with {@code phi3: }.
 */
public final class Phi3Cli {
    static final int DEFAULT_CONTEXT = 2048;
    static final int DEFAULT_MAX_TOKENS = 128;
    static final float DEFAULT_TEMPERATURE = 0f;
    static final int DEFAULT_TOP_K = 40;
    static final float DEFAULT_TOP_P = 0.95f;
    static final float DEFAULT_MIN_P = 0.05f;
    static final float DEFAULT_REPEAT_PENALTY = 1f;
    static final int DEFAULT_REPEAT_LAST_N = 64;
    static final long DEFAULT_SEED = 42;

    private static final String THREADS = "decoding threads (default: the number of CPUs, "
            + Runtime.getRuntime().availableProcessors() + " here)";
    private static final CommandSpec.Option MODEL = CommandSpec.valued("model", "MODEL", "the GGUF model file (required)");
    private static final CommandSpec.Option JSON = CommandSpec.flag("json", "one JSON object on stdout instead of text");
    private static final List<CommandSpec.Option> PROMPT = List.of(
            CommandSpec.valued("prompt", "TEXT", "a raw prompt, tokenized as llama.cpp tokenizes one: BOS added, special tokens"
                    + " such as <|user|> recognised"),
            CommandSpec.valued("chat", "TEXT", "a user message, wrapped in the model's chat template as plain text (give --prompt or --chat)"),
            CommandSpec.valued("system", "TEXT", "the system message of --chat (default: none)"));

    static final List<CommandSpec> COMMANDS = List.of(
            new CommandSpec("inspect", "MODEL [--json] | --system [--json]", "a model file's metadata and tensor table, or this machine's",
                    "Prints the GGUF model file MODEL's version, size, metadata and every tensor's name, type, shape and"
                            + " bytes; with --system instead, this machine's CPU, JVM and vector width, and the decode kernel"
                            + " measured fastest here for each type and row length (the kernel plan cache).",
                    List.of(JSON, CommandSpec.flag("system", "describe this machine and its kernel plan instead of a model"))),
            new CommandSpec("tokenize", "--model MODEL --text TEXT [options]", "the token ids of a text",
                    "Tokenizes TEXT with the model's vocabulary: one id and its piece a line, or {\"tokens\":[...]} with --json.",
                    List.of(MODEL,
                            CommandSpec.valued("text", "TEXT", "the text to tokenize (required)"),
                            CommandSpec.flag("no-bos", "do not add the BOS token (default: added)"),
                            CommandSpec.flag("no-special", "read special tokens such as <|user|> as plain text (default: recognised)"),
                            JSON)),
            new CommandSpec("generate", "--model MODEL (--prompt TEXT | --chat TEXT [--system TEXT]) [options]",
                    "generate text for a prompt or a chat message",
                    """
                    Streams the generated text to stdout and the speed to stderr; with --json one object instead: the prompt's
                    and the generated token ids, the text, the stop reason, the top logits and the timings.""",
                    concat(List.of(MODEL), PROMPT, List.of(
                            CommandSpec.valued("max-tokens", "N", "the most tokens to generate (default: " + DEFAULT_MAX_TOKENS + ")"),
                            CommandSpec.valued("context", "N", "the KV cache's size in tokens (default: " + DEFAULT_CONTEXT + ")"),
                            CommandSpec.valued("threads", "N", THREADS),
                            CommandSpec.valued("temperature", "T", "0 is greedy: the likeliest token each time (default: "
                                    + fmt(DEFAULT_TEMPERATURE) + ")"),
                            CommandSpec.valued("top-k", "K", "sample among the K likeliest tokens; 0 keeps all (default: "
                                    + DEFAULT_TOP_K + ")"),
                            CommandSpec.valued("top-p", "P", "sample among the likeliest tokens that together reach P; 1 keeps all"
                                    + " (default: " + fmt(DEFAULT_TOP_P) + ")"),
                            CommandSpec.valued("min-p", "P", "drop tokens less likely than P times the likeliest; 0 keeps all"
                                    + " (default: " + fmt(DEFAULT_MIN_P) + ")"),
                            CommandSpec.valued("repeat-penalty", "R", "penalise the recent tokens' logits by R; 1 is off (default: "
                                    + fmt(DEFAULT_REPEAT_PENALTY) + ")"),
                            CommandSpec.valued("repeat-last-n", "N", "how many recent tokens the penalty looks at (default: "
                                    + DEFAULT_REPEAT_LAST_N + ")"),
                            CommandSpec.valued("seed", "S", "the sampler's seed: same seed, same text (default: " + DEFAULT_SEED + ")"),
                            CommandSpec.valued("top-logits", "K", "with --json, the K largest logits after the prompt (default: 0)"),
                            JSON))),
            new CommandSpec("classify", "--model MODEL (--prompt TEXT | --chat TEXT [--system TEXT]) --labels a,b,c [options]",
                    "the likeliest of a few labels as the model's answer",
                    """
                    Scores each label as the model's reply to the prompt and prints the likeliest (the probabilities go to
                    stderr); with --json one object: the label and every label's probability.""",
                    concat(List.of(MODEL), PROMPT, List.of(
                            CommandSpec.valued("labels", "a,b,c", "two or more comma-separated labels (required)"),
                            CommandSpec.valued("context", "N", "the KV cache's size in tokens (default: " + DEFAULT_CONTEXT + ")"),
                            CommandSpec.valued("threads", "N", THREADS),
                            JSON))),
            new CommandSpec("synth", "--shape SHAPE --type TYPE --out FILE [options]",
                    "write a random-weight model shaped like a real one, for benchmarks",
                    """
                    Writes a GGUF model with random weights and the real model's shapes and tensor types, and a real
                    vocabulary, so that bench measures what the real model would cost; --dry-run prints the tensor table.""",
                    List.of(
                            CommandSpec.valued("shape", "SHAPE", "phi3-mini-4k, phi3-mini-128k or tiny (required)"),
                            CommandSpec.valued("type", "TYPE", "F16, Q8_0, Q4_0 or Q4_K_M (required)"),
                            CommandSpec.valued("out", "FILE", "the model file to write (required, unless --dry-run)"),
                            CommandSpec.valued("seed", "S", "the weights' seed (default: " + SynthCommand.DEFAULT_SEED + ")"),
                            CommandSpec.valued("vocab", "VOCAB.gguf", "the vocabulary to embed (default: " + SynthCommand.DEFAULT_VOCAB
                                    + ", relative to the working directory)"),
                            CommandSpec.flag("dry-run", "print the tensor table and write nothing"),
                            JSON)),
            new CommandSpec("bench", "--model MODEL [options]", "a model's prompt and generation speed, as llama-bench measures it",
                    """
                    Evaluates a prompt of --prompt-tokens tokens (pp), then generates --gen-tokens tokens greedily (tg), --repeat
                    times, and prints the medians in tokens/s with memory, bandwidth and allocation figures.""",
                    List.of(MODEL,
                            CommandSpec.valued("prompt-tokens", "N", "the prompt's length in tokens (default: "
                                    + BenchCommand.DEFAULT_PROMPT_TOKENS + ")"),
                            CommandSpec.valued("gen-tokens", "N", "tokens generated after the prompt (default: "
                                    + BenchCommand.DEFAULT_GEN_TOKENS + ")"),
                            CommandSpec.valued("repeat", "N", "runs of each, of which the median is reported (default: "
                                    + BenchCommand.DEFAULT_REPEAT + ")"),
                            CommandSpec.valued("prefix-tokens", "N", "also time a request of N + prompt tokens from scratch against"
                                    + " one started from a saved prefix of N tokens (default: 0, off)"),
                            CommandSpec.valued("threads", "N", THREADS),
                            CommandSpec.valued("context", "N", "the KV cache's size in tokens (default: " + DEFAULT_CONTEXT
                                    + ", or more when the tokens above need it)"),
                            CommandSpec.valued("kernels", "MODE", "how decode kernels are chosen: measure (on first use on this"
                                    + " kind of machine, then cached), remeasure, or rules (built in, unmeasured); default: measure,"
                                    + " or -Dphiedge.kernels"),
                            JSON)),
            SelftestCommand.SPEC,
            new CommandSpec("help", "[COMMAND]", "this overview, or a command's options: phi3 help COMMAND",
                    "Prints the overview of the commands, or that of COMMAND: the same as phi3 COMMAND --help.",
                    List.of()));

    static final String HELP = overview();

    private static String overview() {
        StringBuilder b = new StringBuilder("""
                usage: phi3 COMMAND [options]      (phi3 COMMAND --help: that command's options and their defaults)

                The Phi-3 runtime's command line: GGUF models, memory-mapped and run in pure Java.

                commands:
                """);
        for (CommandSpec c : COMMANDS) {
            b.append(String.format(java.util.Locale.ROOT, "  %-9s %s%n", c.name(), c.summary()));
        }
        return b + """

                An option left out takes the default that the command's --help shows. JSON answers (--json) are one
                object on stdout; progress and errors go to stderr.
                exit status: 0 success, 1 a failure (a bad model file, a prompt too long), 2 a command-line mistake
                """;
    }

    @SafeVarargs
    private static <T> List<T> concat(List<T>... lists) {
        List<T> all = new ArrayList<>();
        for (List<T> list : lists) all.addAll(list);
        return List.copyOf(all);
    }

    /** 0.95 as "0.95", 1 as "1". */
    private static String fmt(float v) {
        return v == (int) v ? Integer.toString((int) v) : Float.toString(v);
    }

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

    private static final String COMMAND_NAMES = "inspect, tokenize, generate, classify, synth, bench, selftest";

    int run(String[] args) {
        if (args.length == 0) {
            return usage("missing COMMAND: one of " + COMMAND_NAMES + " (see phi3 --help)");
        }
        if (args[0].equals("--help") || args[0].equals("-h")) {
            out.print(HELP);
            return 0;
        }
        Optional<CommandSpec> found = command(args[0]);
        if (found.isEmpty()) {
            return usage("unknown command '" + args[0] + "': the commands are " + COMMAND_NAMES + " (see phi3 --help)");
        }
        CommandSpec command = found.get();
        if (command.asksForHelp(args, 1)) {
            out.print(command.help());
            return 0;
        }
        try {
            return switch (command.name()) {
                case "inspect" -> inspect(args);
                case "tokenize" -> tokenize(command.parse(args, 1));
                case "generate" -> generate(command.parse(args, 1));
                case "classify" -> classify(command.parse(args, 1));
                case "synth" -> SynthCommand.run(command.parse(args, 1), out, err);
                case "bench" -> BenchCommand.run(command.parse(args, 1), out, err);
                case "selftest" -> SelftestCommand.run(command.parse(args, 1), out, err);
                case "help" -> help(args);
                default -> throw new IllegalStateException(command.name());
            };
        } catch (Args.UsageException e) {
            return usage(e.getMessage() + " (see phi3 " + command.name() + " --help)");
        } catch (GgufFormatException | ContextOverflowException | IllegalArgumentException | UnsupportedOperationException e) {
            err.println("phi3: " + e.getMessage());
            return 1;
        } catch (NoSuchFileException e) {
            err.println("phi3: no such file: " + e.getFile());
            return 1;
        } catch (AccessDeniedException e) {
            err.println("phi3: permission denied: " + e.getFile());
            return 1;
        } catch (FileSystemException e) {
            err.println("phi3: " + e.getFile() + ": " + e.getReason());
            return 1;
        } catch (IOException e) {
            err.println("phi3: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return 1;
        }
    }

    private static Optional<CommandSpec> command(String name) {
        return COMMANDS.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /** {@code phi3 help [COMMAND]}. */
    private int help(String[] args) {
        if (args.length == 1) {
            out.print(HELP);
            return 0;
        }
        if (args.length > 2) throw new Args.UsageException("help takes one command name at most");
        Optional<CommandSpec> command = command(args[1]);
        if (command.isEmpty()) {
            return usage("unknown command '" + args[1] + "': the commands are " + COMMAND_NAMES + " (see phi3 --help)");
        }
        out.print(command.get().help());
        return 0;
    }

    /** A command-line mistake: one line on stderr, status 2. */
    private int usage(String problem) {
        err.println("phi3: " + problem);
        return 2;
    }

    /**
     * A model file named on the command line, checked before it is mapped: a directory or a missing file
     * is said in words (mapping a directory fails with the system's "No such device").
     */
    static Path modelFile(String name) throws IOException {
        Path path = Path.of(name);
        if (Files.isDirectory(path)) {
            List<String> models;
            try (Stream<Path> files = Files.list(path)) {
                models = files.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".gguf")).sorted().limit(6).toList();
            } catch (IOException e) {
                models = List.of();
            }
            throw new IllegalArgumentException(path + " is a directory, not a model file: give a .gguf file"
                    + (models.isEmpty() ? "" : " (in it: " + String.join(", ", models.subList(0, Math.min(5, models.size())))
                    + (models.size() > 5 ? ", ..." : "") + ")"));
        }
        if (!Files.exists(path)) {
            throw new NoSuchFileException(name);
        }
        return path;
    }

    private int inspect(String[] args) throws IOException {
        if (args.length >= 2 && args[1].equals("--system")) {
            Args opts = command("inspect").orElseThrow().parse(args, 2);
            return SystemReport.print(opts.flag("json"), out);
        }
        if (args.length < 2 || args[1].startsWith("--")) throw new Args.UsageException("missing MODEL: phi3 inspect MODEL.gguf (or phi3 inspect --system)");
        Args opts = command("inspect").orElseThrow().parse(args, 2);
        if (opts.flag("system")) throw new Args.UsageException("--system describes this machine: give it alone (phi3 inspect --system)");
        try (GgufFile f = GgufFile.open(modelFile(args[1]))) {
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
        try (GgufFile f = GgufFile.open(modelFile(a.string("model")))) {
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

    /** Refuses a command line without exactly one of --prompt and --chat (before the model is loaded). */
    private static void checkPromptArgs(Args a) {
        if (a.has("prompt") == a.has("chat")) throw new Args.UsageException("give exactly one of --prompt and --chat");
    }

    /** A prompt's text and tokens. */
    private record Prompt(String text, int[] tokens) { }

    /**
     * Raw with --prompt (special tokens such as {@code <|user|>} parsed), or --chat [--system] in the
     * model's chat template, whose messages stay plain text.
     */
    private static Prompt prompt(Args a, LanguageModel lm) {
        if (a.has("prompt")) return new Prompt(a.string("prompt"), lm.encodePrompt(a.string("prompt")));
        String system = a.string("system", null);
        String chat = a.string("chat");
        ChatTemplate template = lm.chatTemplate();
        return new Prompt(template.render(system, chat), template.encode(lm.tokenizer(), system, chat));
    }

    private static int threads(Args a) {
        return a.integer("threads", Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    private int generate(Args a) throws IOException {
        checkPromptArgs(a);
        int maxTokens = a.integer("max-tokens", DEFAULT_MAX_TOKENS);
        int topLogits = a.integer("top-logits", 0);
        SamplerSettings sampling;
        try {
            sampling = new SamplerSettings(a.number("temperature", DEFAULT_TEMPERATURE), a.integer("top-k", DEFAULT_TOP_K),
                    a.number("top-p", DEFAULT_TOP_P), a.number("min-p", DEFAULT_MIN_P), a.number("repeat-penalty", DEFAULT_REPEAT_PENALTY),
                    a.integer("repeat-last-n", DEFAULT_REPEAT_LAST_N), a.longValue("seed", DEFAULT_SEED));
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException(e.getMessage());
        }
        boolean json = a.flag("json");
        long loadStart = System.nanoTime();
        try (LanguageModel lm = LanguageModel.load(modelFile(a.string("model")), a.integer("context", DEFAULT_CONTEXT), threads(a));
             Session session = lm.newSession()) {
            long loadNanos = System.nanoTime() - loadStart;
            int[] prompt = prompt(a, lm).tokens();
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
        checkPromptArgs(a);
        List<String> labels = Arrays.stream(a.string("labels").split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        if (labels.size() < 2) throw new Args.UsageException("--labels needs at least two comma-separated labels");
        try (LanguageModel lm = LanguageModel.load(modelFile(a.string("model")), a.integer("context", DEFAULT_CONTEXT), threads(a));
             Session session = lm.newSession()) {
            Prompt prompt = prompt(a, lm);
            LabelScores scores = session.scoreReplies(prompt.tokens(), labels, lm.replies(prompt.text(), labels));
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
