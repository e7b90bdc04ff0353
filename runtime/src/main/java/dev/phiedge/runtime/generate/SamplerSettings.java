package dev.phiedge.runtime.generate;

/**
 * How the next token is chosen. Temperature 0 is greedy (argmax, ties to the lowest id). Otherwise
 * the filters run in llama.cpp's default order: repetition penalty, top-k, top-p, min-p, then
 * temperature and a seeded draw (same seed, same output).
 *
 * @param topK              keep the k most likely tokens; 0 keeps all
 * @param topP              keep the smallest set whose probability reaches p; 1 keeps all
 * @param minP              drop tokens less likely than minP times the most likely; 0 keeps all
 * @param repeatPenalty     divide positive (multiply negative) logits of recent tokens; 1 is off
 * @param repeatLastN       how many recent tokens the penalty looks at
 */
public record SamplerSettings(float temperature, int topK, float topP, float minP, float repeatPenalty,
                              int repeatLastN, long seed) {

    public SamplerSettings {
        if (temperature < 0 || Float.isNaN(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP < 1)) throw new IllegalArgumentException("min-p must be in [0, 1), got " + minP);
        if (!(repeatPenalty > 0)) throw new IllegalArgumentException("repeat penalty must be > 0, got " + repeatPenalty);
        if (repeatLastN < 0) throw new IllegalArgumentException("repeat-last-n must be >= 0, got " + repeatLastN);
    }

    public static SamplerSettings greedy() {
        return new SamplerSettings(0f, 0, 1f, 0f, 1f, 64, 0);
    }

    public boolean isGreedy() { return temperature == 0f; }
}
