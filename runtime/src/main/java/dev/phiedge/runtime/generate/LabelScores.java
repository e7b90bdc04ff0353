package dev.phiedge.runtime.generate;

import java.util.List;

/**
 * Label scoring's answer: the log-probability of each label's whole reply after the prompt, and the
 * same normalized into a distribution over the labels (softmax of the log-probabilities).
 */
public record LabelScores(List<String> labels, double[] logProbabilities, double[] probabilities, int promptTokens,
                          int scoredTokens) {

    /** The most probable label (the first on a tie). */
    public String best() {
        int best = 0;
        for (int i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i;
        return labels.get(best);
    }

    public double probability(String label) {
        int i = labels.indexOf(label);
        if (i < 0) throw new IllegalArgumentException("not a label: " + label);
        return probabilities[i];
    }
}
