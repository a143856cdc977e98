package io.tessera.core.sampling;

/**
 * How to pick the next token from logits.
 *
 * @param temperature 0 for greedy (argmax), else the logits are divided by it
 * @param topK keep only the k most likely tokens; 0 or -1 = off
 * @param topP keep the smallest most-likely set whose probability reaches p; 1 = off
 * @param minP drop tokens less likely than minP times the most likely one; 0 = off
 * @param repetitionPenalty llama.cpp/HF style over prompt and output tokens: positive logits are
 *     divided by it, negative ones multiplied; 1 = off
 * @param presencePenalty OpenAI style over output tokens: subtracted once from a token that occurred; 0 = off
 * @param frequencyPenalty OpenAI style over output tokens: subtracted once per occurrence; 0 = off
 * @param seed the random seed, or null for a random one
 */
public record SamplingParams(float temperature, int topK, float topP, float minP, float repetitionPenalty,
                             float presencePenalty, float frequencyPenalty, Long seed) {

    public SamplingParams {
        if (!(temperature >= 0) || !Float.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < -1) {
            throw new IllegalArgumentException("topK must be >= 1, or 0 or -1 for off, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
        }
        if (!(repetitionPenalty > 0) || !Float.isFinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetitionPenalty must be a finite number > 0, got " + repetitionPenalty);
        }
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) {
            throw new IllegalArgumentException("presencePenalty must be in [-2, 2], got " + presencePenalty);
        }
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) {
            throw new IllegalArgumentException("frequencyPenalty must be in [-2, 2], got " + frequencyPenalty);
        }
    }

    /** Argmax, no penalties. */
    public static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null);
    }

    /** Plain sampling at a temperature, no truncation or penalties. */
    public static SamplingParams ofTemperature(float temperature, Long seed) {
        return new SamplingParams(temperature, 0, 1f, 0f, 1f, 0f, 0f, seed);
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed);
    }

    public SamplingParams withTopP(float p) {
        return new SamplingParams(temperature, topK, p, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed);
    }

    public SamplingParams withMinP(float p) {
        return new SamplingParams(temperature, topK, topP, p, repetitionPenalty, presencePenalty, frequencyPenalty, seed);
    }

    public SamplingParams withPenalties(float repetition, float presence, float frequency) {
        return new SamplingParams(temperature, topK, topP, minP, repetition, presence, frequency, seed);
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty, s);
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }

    public boolean hasPenalties() {
        return repetitionPenalty != 1f || presencePenalty != 0f || frequencyPenalty != 0f;
    }
}
