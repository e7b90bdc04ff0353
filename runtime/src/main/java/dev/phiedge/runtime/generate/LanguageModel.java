package dev.phiedge.runtime.generate;

import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.model.DecoderModel;
import dev.phiedge.runtime.model.ModelConfig;
import dev.phiedge.runtime.matmul.KernelPlan;
import dev.phiedge.runtime.plan.KernelPlanner;
import dev.phiedge.runtime.tokenizer.ChatTemplate;
import dev.phiedge.runtime.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The runtime's front door for programs that embed it: a mapped GGUF model with its tokenizer and
 * chat template, from which {@link Session}s are opened.
 *
 * <p>Thread safety: a LanguageModel may be shared by any number of threads, and its sessions may run
 * on different threads at once; each session is used by one thread at a time. Each session owns all
 * the state its evaluations write (KV cache, activations, the scratch of its products and attention:
 * {@link dev.phiedge.runtime.model.InferenceState}), so two sessions on two threads give the results
 * each would give alone. That costs a session a few MiB of scratch beside its KV
 * cache (which dwarfs it), and was chosen over refusing a second concurrent session because it lets
 * several workers share one mapped model. What sessions share is read-only (the mapped weights, the
 * tokenizer, the chat template) apart from the thread team of {@code threads} threads, which runs one
 * matrix product at a time: with {@code threads > 1} the sessions' products take turns on it (the
 * team is sized to the cores; more teams would only compete for them); with {@code threads == 1}
 * every session computes on its own caller's thread, in parallel.
 *
 * <pre>
 *   try (LanguageModel lm = LanguageModel.load(path, 2048, 4);
 *        Session session = lm.newSession()) {
 *       int[] prompt = lm.encodeChat("You classify readings.", "temperature 41 C");
 *       // each label as the assistant's whole reply, tokenized as after the assistant marker
 *       List<int[]> replies = lm.replies(lm.chatTemplate().render(List.of(), true), labels);
 *       LabelScores s = session.scoreReplies(prompt, labels, replies);
 *   }
 * </pre>
 */
public final class LanguageModel implements AutoCloseable {
    /** Positions evaluated together during prompt processing. */
    public static final int DEFAULT_BATCH = 32;

    private final GgufFile file;
    private final DecoderModel model;
    private final Tokenizer tokenizer;
    private final int contextLength;
    private final int threads;
    /** Null when the file's template is of a format this runtime does not render. */
    private final ChatTemplate chatTemplate;
    private List<String> kernelPlanNotes = List.of();

    private LanguageModel(GgufFile file, DecoderModel model, Tokenizer tokenizer, int contextLength, int threads) {
        this.file = file;
        this.model = model;
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.threads = threads;
        this.chatTemplate = ChatTemplate.detect(file.getString(CHAT_TEMPLATE_KEY, null), model.config().architecture()).orElse(null);
    }

    /** The GGUF key of the model's chat template (Jinja source, as Hugging Face ships it). */
    public static final String CHAT_TEMPLATE_KEY = "tokenizer.chat_template";

    /**
     * Maps the file and prepares the model. {@code contextLength} bounds the KV cache of each session
     * (0 means the model's trained context); {@code threads} is the number of cores matrix products use.
     */
    public static LanguageModel load(Path path, int contextLength, int threads) throws IOException {
        return load(path, contextLength, threads, KernelPlanner.fromSystemProperties());
    }

    /**
     * {@link #load(Path, int, int)} with the decode kernels chosen by {@code planner} (on first use on
     * a kind of machine it measures them, a few seconds for Phi-3-mini; see {@link KernelPlanner}).
     */
    public static LanguageModel load(Path path, int contextLength, int threads, KernelPlanner planner) throws IOException {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        GgufFile file = GgufFile.open(path);
        try {
            DecoderModel model = DecoderModel.load(file);
            Tokenizer tokenizer = Tokenizer.fromGguf(file);
            int ctx = contextLength > 0 ? contextLength : model.config().trainedContextLength();
            model.setThreads(threads);
            model.planKernels(planner);
            LanguageModel lm = new LanguageModel(file, model, tokenizer, ctx, threads);
            lm.kernelPlanNotes = planner.notes();
            return lm;
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public DecoderModel model() { return model; }

    public ModelConfig config() { return model.config(); }

    public Tokenizer tokenizer() { return tokenizer; }

    public GgufFile file() { return file; }

    public int contextLength() { return contextLength; }

    public int threads() { return threads; }

    /** The decode kernel of each group of matrices, and why ({@link KernelPlan.Choice#describe()}). */
    public KernelPlan kernelPlan() { return model.kernelPlan(); }

    /** What the kernel planner had to say while loading (for instance, a cache it could not write). */
    public List<String> kernelPlanNotes() { return kernelPlanNotes; }

    /** The model's {@code general.name}. */
    public String name() { return model.config().name(); }

    /** A new session with its own KV cache of {@link #contextLength()} positions; close it when done. */
    public Session newSession() {
        return new Session(this, model.newState(contextLength, DEFAULT_BATCH));
    }

    /**
     * The model's chat format, from its {@code tokenizer.chat_template} and {@code general.architecture}
     * ({@link ChatTemplate#detect}): Phi-3 for the phi3 files, ChatML for a model without a template.
     *
     * @throws UnsupportedOperationException when the file's template is of another format (format the
     *         prompt yourself and use {@link #encodePrompt})
     */
    public ChatTemplate chatTemplate() {
        if (chatTemplate == null) {
            throw new UnsupportedOperationException("the chat template of " + file.path().getFileName()
                    + " is not one this runtime renders (" + ChatTemplate.phi3().name() + ", " + ChatTemplate.chatml().name()
                    + "): format the prompt yourself and pass it as a raw prompt");
        }
        return chatTemplate;
    }

    /**
     * A raw prompt as llama.cpp tokenizes one: BOS added, special tokens such as {@code <|user|>}
     * parsed. For text from users, use {@link #encodeChat}, which keeps their text plain.
     */
    public int[] encodePrompt(String text) {
        return tokenizer.encode(text, true, true);
    }

    /**
     * The model's chat template around one user turn (system turn omitted when null or empty), ready
     * for the assistant, BOS included. Special tokens come only from the template: special-token text
     * inside {@code system} or {@code user} (say {@code <|end|><|assistant|>}) stays plain text, so a
     * message cannot close its turn ({@link ChatTemplate#encode(Tokenizer, String, String)}).
     */
    public int[] encodeChat(String system, String user) {
        return chatTemplate().encode(tokenizer, system, user);
    }

    /**
     * Each label as the assistant's whole reply: the tokens the tokenizer gives for the prompt text
     * followed by the label and the end-of-turn marker, minus the prompt's own tokens (so the label
     * is tokenized exactly as it would be in context).
     */
    public List<int[]> replies(String promptText, List<String> labels) {
        int[] prompt = encodePrompt(promptText);
        String end = tokenizer.endOfTurn() >= 0
                ? new String(tokenizer.tokenToPiece(tokenizer.endOfTurn(), true), java.nio.charset.StandardCharsets.UTF_8) : "";
        List<int[]> out = new ArrayList<>();
        for (String label : labels) {
            int[] full = encodePrompt(promptText + label + end);
            if (full.length <= prompt.length || !Arrays.equals(full, 0, prompt.length, prompt, 0, prompt.length)) {
                throw new IllegalArgumentException("label '" + label + "' changes how the prompt itself is tokenized");
            }
            out.add(Arrays.copyOfRange(full, prompt.length, full.length));
        }
        return out;
    }

    @Override
    public void close() {
        try {
            model.close();
        } finally {
            file.close();
        }
    }
}
