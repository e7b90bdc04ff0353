package dev.phiedge.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplerTest {

    private static SamplerSettings settings(float temperature, int topK, float topP, float minP, float penalty, long seed) {
        return new SamplerSettings(temperature, topK, topP, minP, penalty, 64, seed);
    }

    @Test
    void greedyPicksTheLargestLogitAndTheLowestIdOnATie() {
        Sampler greedy = new Sampler(SamplerSettings.greedy(), 5);
        assertEquals(3, greedy.sample(new float[] {0.1f, 2f, -1f, 5f, 4.9f}, null, 0));
        assertEquals(1, greedy.sample(new float[] {0f, 7f, 7f, 1f, 7f}, null, 0));
    }

    @Test
    void sameSeedGivesTheSameDrawsAndAnotherSeedOtherDraws() {
        float[] logits = {1f, 1.2f, 0.8f, 1.1f, 0.9f, 1.05f};
        int[] a = draws(settings(1f, 0, 1f, 0f, 1f, 7), logits, 200);
        int[] b = draws(settings(1f, 0, 1f, 0f, 1f, 7), logits, 200);
        int[] c = draws(settings(1f, 0, 1f, 0f, 1f, 8), logits, 200);
        assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(c));
    }

    @Test
    void drawsFollowTheSoftmaxAtTemperatureOne() {
        // logits ln(1), ln(2), ln(3), ln(4): probabilities 0.1, 0.2, 0.3, 0.4.
        float[] logits = {0f, (float) Math.log(2), (float) Math.log(3), (float) Math.log(4)};
        int[] counts = new int[4];
        for (int t : draws(settings(1f, 0, 1f, 0f, 1f, 1), logits, 20_000)) counts[t]++;
        double[] expected = {0.1, 0.2, 0.3, 0.4};
        for (int i = 0; i < 4; i++) {
            // 20,000 draws: the standard error is at most 0.0035; allow five of them.
            assertEquals(expected[i], counts[i] / 20_000.0, 0.018, "token " + i);
        }
    }

    @Test
    void topKOfOneIsGreedyWhateverTheTemperature() {
        float[] logits = {0.5f, 3f, 2.9f, -2f};
        for (int t : draws(settings(5f, 1, 1f, 0f, 1f, 3), logits, 100)) assertEquals(1, t);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // Probabilities 0.5, 0.3, 0.2: p = 0.7 keeps {0, 1}; token 2 must never be drawn.
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        int[] counts = new int[3];
        for (int t : draws(settings(1f, 0, 0.7f, 0f, 1f, 5), logits, 5000)) counts[t]++;
        assertEquals(0, counts[2]);
        assertTrue(counts[0] > 0 && counts[1] > 0);
        // Renormalized: 0.5/0.8 = 0.625.
        assertEquals(0.625, counts[0] / 5000.0, 0.03);
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheBest() {
        // Probabilities 0.6, 0.3, 0.1; min-p 0.25 keeps tokens with p >= 0.15: {0, 1}.
        float[] logits = {(float) Math.log(0.6), (float) Math.log(0.3), (float) Math.log(0.1)};
        int[] counts = new int[3];
        for (int t : draws(settings(1f, 0, 1f, 0.25f, 1f, 9), logits, 5000)) counts[t]++;
        assertEquals(0, counts[2]);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        float[] logits = {4f, -2f, 3.9f};
        int[] history = {0, 1, 0};
        new Sampler(settings(0f, 0, 1f, 0f, 2f, 0), 3).sample(logits, history, history.length);
        assertEquals(2f, logits[0]);   // 4 / 2, once although seen twice
        assertEquals(-4f, logits[1]);  // -2 * 2
        assertEquals(3.9f, logits[2]); // not in the history
    }

    @Test
    void rejectsSettingsOutOfRange() {
        assertThrows(IllegalArgumentException.class, () -> settings(-1f, 0, 1f, 0f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> settings(1f, 0, 0f, 0f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> settings(1f, 0, 1f, 1f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> settings(1f, -1, 1f, 0f, 1f, 0));
    }

    private static int[] draws(SamplerSettings s, float[] logits, int n) {
        Sampler sampler = new Sampler(s, logits.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = sampler.sample(logits.clone(), null, 0);
        return out;
    }
}
