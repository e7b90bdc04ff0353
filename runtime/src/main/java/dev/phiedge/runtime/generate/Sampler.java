package dev.phiedge.runtime.generate;

import java.util.SplittableRandom;

/**
 * Picks the next token from logits according to {@link SamplerSettings}. One sampler per
 * generation: it owns the seeded random stream and scratch arrays, so it allocates nothing per token.
 */
public final class Sampler {
    private final SamplerSettings settings;
    private final SplittableRandom random;
    private final int[] candidates;
    private final float[] probabilities;
    private final long[] sortKeys;

    public Sampler(SamplerSettings settings, int vocabularySize) {
        this.settings = settings;
        this.random = new SplittableRandom(settings.seed());
        this.candidates = settings.isGreedy() ? null : new int[vocabularySize];
        this.probabilities = settings.isGreedy() ? null : new float[vocabularySize];
        this.sortKeys = settings.isGreedy() ? null : new long[vocabularySize];
    }

    /** The index of the largest value; ties go to the lowest index. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /**
     * Chooses a token. {@code logits} may be modified (penalties). {@code history} holds the tokens so
     * far ({@code historyLength} of them), for the repetition penalty.
     */
    public int sample(float[] logits, int[] history, int historyLength) {
        applyRepeatPenalty(logits, history, historyLength);
        if (settings.isGreedy()) return argmax(logits);

        int n = logits.length;
        // Sort candidates by logit, descending (ties to the lower id), restricted to top-k when set.
        int keep = settings.topK() > 0 ? Math.min(settings.topK(), n) : n;
        partialSortByLogit(logits, keep);
        n = keep;

        // Softmax over the kept candidates, at temperature 1 for the p filters (llama.cpp order).
        float max = logits[candidates[0]];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            probabilities[i] = (float) Math.exp(logits[candidates[i]] - max);
            sum += probabilities[i];
        }
        if (settings.topP() < 1f) {
            double cumulative = 0;
            for (int i = 0; i < n; i++) {
                cumulative += probabilities[i] / sum;
                if (cumulative >= settings.topP()) { n = i + 1; break; }
            }
        }
        if (settings.minP() > 0f) {
            float threshold = settings.minP() * probabilities[0];
            int kept = 1;
            while (kept < n && probabilities[kept] >= threshold) kept++;
            n = kept;
        }
        // Temperature, then a draw from the renormalized distribution.
        double total = 0;
        for (int i = 0; i < n; i++) {
            probabilities[i] = (float) Math.exp((logits[candidates[i]] - max) / settings.temperature());
            total += probabilities[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < n; i++) {
            r -= probabilities[i];
            if (r <= 0) return candidates[i];
        }
        return candidates[n - 1];
    }

    private void applyRepeatPenalty(float[] logits, int[] history, int historyLength) {
        float penalty = settings.repeatPenalty();
        if (penalty == 1f || history == null) return;
        int from = Math.max(0, historyLength - settings.repeatLastN());
        // Each distinct recent token is penalized once (llama.cpp counts occurrences per token).
        for (int i = from; i < historyLength; i++) {
            int t = history[i];
            boolean seen = false;
            for (int j = from; j < i; j++) if (history[j] == t) { seen = true; break; }
            if (seen) continue;
            logits[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty;
        }
    }

    /**
     * Orders {@link #candidates} by logit, descending, ties to the lower id. Each (logit, id) pair is
     * packed into one long whose natural order is the wanted one, so a primitive sort does it without
     * allocating: the high half is the float's bits flipped into a descending signed order.
     */
    private void partialSortByLogit(float[] logits, int keep) {
        int n = candidates.length;
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToIntBits(logits[i]);
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff);
            sortKeys[i] = ((long) ~ascending << 32) | i;
        }
        java.util.Arrays.sort(sortKeys);
        for (int i = 0; i < keep; i++) candidates[i] = (int) sortKeys[i];
    }

}
