package dev.phiedge.runtime.generate;

import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.model.DecoderModel;
import dev.phiedge.runtime.model.ModelConfig;
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
 * {@link dev.phiedge.runtime.model.InferenceState}), so two sessions on two threads give exactly the
 * results they give one after the other. That costs a session a few MiB of scratch beside its KV
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
 *       LabelScores s = session.scoreReplies(prompt, labels, lm.replies(prompt, labels));
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

    private LanguageModel(GgufFile file, DecoderModel model, Tokenizer tokenizer, int contextLength, int threads) {
        this.file = file;
        this.model = model;
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.threads = threads;
    }

    /**
     * Maps the file and prepares the model. {@code contextLength} bounds the KV cache of each session
     * (0 means the model's trained context); {@code threads} is the number of cores matrix products use.
     */
    public static LanguageModel load(Path path, int contextLength, int threads) throws IOException {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        GgufFile file = GgufFile.open(path);
        try {
            DecoderModel model = DecoderModel.load(file);
            Tokenizer tokenizer = Tokenizer.fromGguf(file);
            int ctx = contextLength > 0 ? contextLength : model.config().trainedContextLength();
            model.setThreads(threads);
            return new LanguageModel(file, model, tokenizer, ctx, threads);
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

    /** The model's {@code general.name}. */
    public String name() { return model.config().name(); }

    /** A new session with its own KV cache of {@link #contextLength()} positions; close it when done. */
    public Session newSession() {
        return new Session(this, model.newState(contextLength, DEFAULT_BATCH));
    }

    /** A raw prompt as llama.cpp tokenizes one: BOS added, special tokens such as {@code <|user|>} parsed. */
    public int[] encodePrompt(String text) {
        return tokenizer.encode(text, true, true);
    }

    /** The chat template around one user turn (system turn omitted when blank), ready for the assistant. */
    public int[] encodeChat(String system, String user) {
        return encodePrompt(ChatTemplate.phi3().render(system, user));
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
