package dev.phiedge.runtime.generate;

import dev.phiedge.runtime.model.ContextOverflowException;
import dev.phiedge.runtime.model.DecoderModel;
import dev.phiedge.runtime.model.InferenceState;
import dev.phiedge.runtime.model.KvCache;
import dev.phiedge.runtime.tokenizer.TokenTextDecoder;
import dev.phiedge.runtime.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * One inference stream over a model: its KV cache, the tokens that cache holds, and the prefixes
 * saved for reuse. Not thread-safe: one thread at a time (the agent's inference worker, the CLI's
 * main). Other sessions of the same model may run on other threads meanwhile: a session owns all
 * the state it writes ({@link LanguageModel} says what is shared).
 *
 * <p>Prefix reuse: every evaluation starts from the longest prefix of the new prompt that is already
 * in the cache, or from a saved prefix snapshot ({@link #savePrefix}) when that is longer, so a
 * request pays only for its own tokens.
 */
public final class Session implements AutoCloseable {
    private final LanguageModel languageModel;
    private final DecoderModel model;
    private final Tokenizer tokenizer;
    private final InferenceState state;
    private final int[] cachedTokens;
    private final List<SavedPrefix> prefixes = new ArrayList<>();

    /** A saved prompt prefix: its tokens and a copy of their keys and values. */
    public record SavedPrefix(int[] tokens, KvCache.Snapshot snapshot) { }

    Session(LanguageModel languageModel, InferenceState state) {
        this.languageModel = languageModel;
        this.model = languageModel.model();
        this.tokenizer = languageModel.tokenizer();
        this.state = state;
        this.cachedTokens = new int[state.contextLength()];
    }

    public InferenceState state() { return state; }

    /** Number of tokens whose keys and values are in the cache. */
    public int cachedLength() { return state.position(); }

    /**
     * Evaluates {@code tokens} as the whole current context and leaves the logits after the last one
     * in {@link InferenceState#logits()}. Returns how many leading tokens were reused from the cache.
     */
    public int prefill(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("cannot evaluate an empty prompt");
        if (tokens.length > state.contextLength()) throw new ContextOverflowException(tokens.length, state.contextLength());
        int common = commonPrefix(cachedTokens, state.position(), tokens);
        SavedPrefix best = null;
        for (SavedPrefix p : prefixes) {
            if (p.tokens.length > common && p.tokens.length <= tokens.length
                    && Arrays.equals(p.tokens, 0, p.tokens.length, tokens, 0, p.tokens.length)
                    && (best == null || p.tokens.length > best.tokens.length)) {
                best = p;
            }
        }
        if (best != null) {
            state.restore(best.snapshot);
            System.arraycopy(best.tokens, 0, cachedTokens, 0, best.tokens.length);
            common = best.tokens.length;
        }
        // The last token is always evaluated again: its logits are what the caller wants.
        common = Math.min(common, tokens.length - 1);
        state.truncate(Math.min(common, state.position()));
        try {
            model.forward(state, tokens, common, tokens.length - common, true);
        } catch (RuntimeException | Error e) {
            // Batches that finished moved the position on; their tokens are not recorded, so forget them.
            state.truncate(common);
            throw e;
        }
        System.arraycopy(tokens, common, cachedTokens, common, tokens.length - common);
        return common;
    }

    /**
     * Evaluates a prefix shared by many requests (a route's system prompt and instructions) and keeps
     * a copy of its cache, so later prompts starting with it skip those tokens.
     */
    public SavedPrefix savePrefix(int[] prefixTokens) {
        for (SavedPrefix p : prefixes) if (Arrays.equals(p.tokens, prefixTokens)) return p;
        prefill(prefixTokens);
        SavedPrefix saved = new SavedPrefix(prefixTokens.clone(), state.cache().snapshot(prefixTokens.length));
        prefixes.add(saved);
        return saved;
    }

    /** Evaluates one more token after the cached ones, leaving its logits. */
    public void append(int token) {
        int pos = state.position();
        model.forward(state, new int[] {token}, 0, 1, true);
        cachedTokens[pos] = token;
    }

    /**
     * Generates after {@code prompt} until an end-of-generation token (included in the result), the
     * token limit, cancellation, or a full context.
     */
    public Generation generate(int[] prompt, int maxTokens, SamplerSettings settings, GenerationListener listener,
                               BooleanSupplier cancelled) {
        long start = System.nanoTime();
        int reused = prefill(prompt);
        long promptDone = System.nanoTime();
        listener.onPromptLogits(state.logits());

        Sampler sampler = new Sampler(settings, state.config().vocabularySize());
        int[] history = Arrays.copyOf(prompt, prompt.length + Math.max(0, maxTokens));
        int[] single = new int[1];
        int generated = 0;
        TokenTextDecoder decoder = TokenTextDecoder.forGeneration(tokenizer);
        Generation.StopReason reason = Generation.StopReason.MAX_TOKENS;
        while (generated < maxTokens) {
            if (cancelled.getAsBoolean()) { reason = Generation.StopReason.CANCELLED; break; }
            int next = sampler.sample(state.logits(), history, prompt.length + generated);
            history[prompt.length + generated++] = next;
            listener.onToken(next, decoder.accept(next));
            if (tokenizer.isEndOfGeneration(next)) { reason = Generation.StopReason.END_OF_GENERATION; break; }
            if (generated == maxTokens) break;
            if (state.position() >= state.contextLength()) { reason = Generation.StopReason.CONTEXT_FULL; break; }
            single[0] = next;
            int pos = state.position();
            model.forward(state, single, 0, 1, true);
            cachedTokens[pos] = next;
        }
        int[] tokens = Arrays.copyOfRange(history, prompt.length, prompt.length + generated);
        String text = tokenizer.decode(tokens, false, false);
        return new Generation(tokens, text, reason, promptDone - start, System.nanoTime() - promptDone, reused);
    }

    /**
     * Label scoring: the log-probability of each reply (a label's token sequence) after {@code prompt},
     * sharing the prompt's cache: the prompt is evaluated once, then each reply from there.
     */
    public LabelScores scoreReplies(int[] prompt, List<String> labels, List<int[]> replies) {
        if (labels.size() != replies.size() || labels.isEmpty()) throw new IllegalArgumentException("one reply per label needed");
        prefill(prompt);
        float[] afterPrompt = state.logits().clone();
        double[] logProbs = new double[labels.size()];
        int scored = 0;
        for (int i = 0; i < replies.size(); i++) {
            int[] reply = replies.get(i);
            if (reply.length == 0) throw new IllegalArgumentException("label '" + labels.get(i) + "' has no tokens");
            if (prompt.length + reply.length - 1 > state.contextLength()) {
                throw new ContextOverflowException(prompt.length + reply.length - 1, state.contextLength());
            }
            state.truncate(prompt.length);
            double lp = logSoftmax(afterPrompt, reply[0]);
            for (int j = 1; j < reply.length; j++) {
                append(reply[j - 1]);
                lp += logSoftmax(state.logits(), reply[j]);
            }
            logProbs[i] = lp;
            scored += reply.length;
        }
        state.truncate(prompt.length);
        double max = Arrays.stream(logProbs).max().orElseThrow();
        double[] probs = new double[logProbs.length];
        double sum = 0;
        for (int i = 0; i < probs.length; i++) sum += probs[i] = Math.exp(logProbs[i] - max);
        for (int i = 0; i < probs.length; i++) probs[i] /= sum;
        return new LabelScores(List.copyOf(labels), logProbs, probs, prompt.length, scored);
    }

    /** log softmax(logits)[token], in double. */
    static double logSoftmax(float[] logits, int token) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) if (l > max) max = l;
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        return logits[token] - max - Math.log(sum);
    }

    private static int commonPrefix(int[] cached, int cachedLength, int[] tokens) {
        int n = Math.min(cachedLength, tokens.length);
        int i = 0;
        while (i < n && cached[i] == tokens[i]) i++;
        return i;
    }

    public LanguageModel languageModel() { return languageModel; }

    @Override
    public void close() {
        for (SavedPrefix p : prefixes) p.snapshot.close();
        prefixes.clear();
        state.close();
    }
}
