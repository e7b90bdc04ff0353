package dev.phiedge.agent.backend;

import dev.phiedge.runtime.generate.Generation;
import dev.phiedge.runtime.generate.GenerationListener;
import dev.phiedge.runtime.generate.LabelScores;
import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.generate.SamplerSettings;
import dev.phiedge.runtime.generate.Session;
import dev.phiedge.runtime.model.ContextOverflowException;
import dev.phiedge.runtime.matmul.KernelPlan;
import org.tinylog.Logger;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent's model: the Phi-3 runtime with one session, used by the single inference worker.
 *
 * <p>Each route's system turn ({@code <|system|>\n...<|end|>\n}) is evaluated once and saved
 * (prefix KV reuse), so an event pays only for its own tokens. Classification scores every label as
 * the assistant's whole reply (label tokens, then {@code <|end|>}); summaries are generated greedily
 * until {@code <|end|>} or the route's token limit.
 */
public final class RuntimeBackend implements InferenceBackend {
    private final LanguageModel model;
    private final Session session;
    private final Map<String, int[]> routePrefixes = new HashMap<>();
    private final Map<List<String>, List<int[]>> labelReplies = new HashMap<>();
    private final TokenLowerBound tokenFloor;

    private RuntimeBackend(LanguageModel model) {
        this.model = model;
        this.session = model.newSession();
        this.tokenFloor = TokenLowerBound.of(model.tokenizer().vocabulary());
    }

    /** Maps the model file; {@code context} bounds the KV cache, {@code threads} the cores used. */
    public static RuntimeBackend load(Path path, int context, int threads) throws IOException {
        LanguageModel lm = LanguageModel.load(path, context, threads);
        for (String note : lm.kernelPlanNotes()) Logger.warn("Kernel plan: {}", note);
        for (KernelPlan.Choice c : lm.kernelPlan().choices()) Logger.info("Decode kernel {}", c.describe());
        return new RuntimeBackend(lm);
    }

    @Override
    public String modelName() {
        String file = model.file().path().getFileName().toString();
        return file.endsWith(".gguf") ? file.substring(0, file.length() - 5) : file;
    }

    public LanguageModel languageModel() { return model; }

    @Override
    public ClassifyOutcome classify(String route, String system, String userPrompt, List<String> labels)
            throws PromptTooLongException {
        int[] prompt = promptTokens(route, system, userPrompt);
        List<int[]> replies = labelReplies.computeIfAbsent(labels, this::replies);
        int longest = replies.stream().mapToInt(r -> r.length).max().orElse(0);
        if (prompt.length + longest - 1 > model.contextLength()) {
            throw new PromptTooLongException(prompt.length + longest - 1, model.contextLength());
        }
        LabelScores scores = session.scoreReplies(prompt, labels, replies);
        Map<String, Double> byLabel = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) byLabel.put(labels.get(i), scores.probabilities()[i]);
        String best = scores.best();
        return new ClassifyOutcome(best, byLabel, prompt.length, replies.get(labels.indexOf(best)).length);
    }

    @Override
    public SummaryOutcome summarize(String route, String system, String userPrompt, int maxTokens)
            throws PromptTooLongException {
        int[] prompt = promptTokens(route, system, userPrompt);
        try {
            Generation g = session.generate(prompt, maxTokens, SamplerSettings.greedy(), GenerationListener.NONE, () -> false);
            return new SummaryOutcome(g.text().strip(), prompt.length, g.tokens().length);
        } catch (ContextOverflowException e) {
            throw new PromptTooLongException(e.needed(), e.contextLength());
        }
    }

    /**
     * A short prompt (tens of tokens) and 8 generated tokens: enough products for C2 to compile the
     * prompt and decode kernels, which otherwise happens during the first event (on the synthetic
     * Phi-3-mini, 2 cores, the first 8-token prompt and 2 tokens took 2.9-4.8 s against 0.7 s once
     * compiled). The session keeps the warm-up's tokens in its cache until the next prompt replaces
     * them, as any earlier event's would.
     */
    @Override
    public void warmUp() {
        int[] prompt = model.chatTemplate().encode(model.tokenizer(), "You are an edge agent warming up.",
                "Sensor greenhouse-1 reports temperature 21.5 C and humidity 48 percent.");
        if (prompt.length + 8 >= model.contextLength()) return; // a context too small to warm up in
        session.generate(prompt, 8, SamplerSettings.greedy(), GenerationListener.NONE, () -> false);
    }

    /**
     * Each label as the assistant's whole reply. The assistant marker is a special token, so what
     * follows it is tokenized on its own: the reply tokens do not depend on the event's text.
     */
    private List<int[]> replies(List<String> labels) {
        return model.replies(model.chatTemplate().render(List.of(), true), labels);
    }

    /**
     * Tokenizes the chat prompt, checks it fits, and makes sure the route's system prefix is saved.
     * Special-token text inside the event (a payload saying {@code <|end|><|assistant|>}) stays plain
     * text: it cannot close the user turn.
     *
     * <p>First, from the user prompt's length alone: when even its most optimistic tokenization (every
     * token as long as the vocabulary's longest piece) cannot fit the context, it is refused at once,
     * without the tokenizing, which costs time and memory in proportion to the text. That estimate is a
     * lower bound on the real count (see {@link TokenLowerBound}), so it never refuses a prompt that fits:
     * a prompt under it is tokenized and judged by its real count below.
     */
    private int[] promptTokens(String route, String system, String userPrompt) throws PromptTooLongException {
        TokenLowerBound.Estimate estimate = tokenFloor.estimate(userPrompt);
        if (estimate.minimumTokens() >= model.contextLength()) {
            throw PromptTooLongException.estimated(estimate.minimumTokens(), estimate.utf8Bytes(), model.contextLength());
        }
        int[] prompt = model.chatTemplate().encode(model.tokenizer(), system, userPrompt);
        if (prompt.length >= model.contextLength()) throw new PromptTooLongException(prompt.length, model.contextLength());
        int[] prefix = routePrefixes.computeIfAbsent(route + "\u0000" + system, k -> systemPrefix(system));
        if (prefix.length > 1 && prefix.length < prompt.length && Arrays.equals(prefix, 0, prefix.length, prompt, 0, prefix.length)) {
            session.savePrefix(prefix);
        }
        return prompt;
    }

    /** The tokens of the system turn alone, as they begin every prompt of the route (checked before saving). */
    private int[] systemPrefix(String system) {
        return model.chatTemplate().encodeSystemPrefix(model.tokenizer(), system);
    }

    @Override
    public void close() {
        session.close();
        model.close();
    }
}
