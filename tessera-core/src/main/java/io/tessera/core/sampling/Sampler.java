package io.tessera.core.sampling;

import java.util.SplittableRandom;

/**
 * Picks tokens for one sequence. Holds its own random generator, so a given seed gives the same
 * tokens whatever other sequences do, and reusable scratch buffers, so the caller's logits are
 * never modified. Not thread-safe: one sampler per sequence.
 *
 * <p>Order of operations: penalties, the caller's {@link LogitsProcessor} (logit bias, a
 * grammar's mask), then greedy argmax if the temperature is 0, else
 * temperature, top-k, top-p, min-p, and a draw from the renormalized remaining distribution.
 * Top-k and top-p use a partial selection or a heap rather than sorting the vocabulary.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private float[] logits = new float[0];   // penalized logits of the last call
    private long[] keys = new long[0];
    private int[] kept = new int[0];
    private int vocabSize;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = params.seed() != null ? new SplittableRandom(params.seed()) : new SplittableRandom();
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Samples a token from {@code logits[offset, offset + vocabSize)}.
     *
     * @param history tokens seen so far, for penalties; may be null when there are none
     */
    public int sample(float[] source, int offset, int vocabSize, TokenCounts history) {
        return sample(source, offset, vocabSize, history, null);
    }

    /**
     * Samples a token after {@code processor} (may be null) has changed the penalized logits: a
     * token it sets to negative infinity is never picked, greedy or not, unless all are.
     */
    public int sample(float[] source, int offset, int vocabSize, TokenCounts history, LogitsProcessor processor) {
        process(source, offset, vocabSize, history, processor);
        return params.isGreedy() ? argmax(logits, 0, vocabSize) : draw(vocabSize, -1);
    }

    /** The penalized logits of {@code source[offset, offset + vocabSize)}, then {@code processor}'s changes. */
    private void process(float[] source, int offset, int vocabSize, TokenCounts history, LogitsProcessor processor) {
        if (vocabSize <= 0 || offset < 0 || offset + vocabSize > source.length) {
            throw new IllegalArgumentException("logits range [" + offset + ", " + (offset + vocabSize)
                    + ") does not fit an array of " + source.length);
        }
        prepare(source, offset, vocabSize, history);
        if (processor != null) {
            processor.process(logits, vocabSize);
        }
    }

    /**
     * Verifies a proposed token (speculative decoding with a deterministic draft: the draft's
     * distribution puts all its mass on {@code proposal}). Returns {@code proposal} with probability
     * p(proposal) under this sampler's distribution (after penalties, {@code processor},
     * temperature, top-k, top-p, min-p), else a draw from that distribution with the proposal
     * removed and the rest renormalised, so the returned token is distributed exactly as
     * {@link #sample} would draw it (Leviathan et al. / Chen et al., with q one-hot). Greedy returns
     * the argmax, which is the proposal exactly when the proposal is what greedy decoding picks.
     *
     * <p>Each call draws one or two numbers from the random stream (the acceptance test, then the
     * replacement on rejection), where {@link #sample} draws one.
     */
    public int verify(float[] source, int offset, int vocabSize, TokenCounts history, LogitsProcessor processor,
            int proposal) {
        if (proposal < 0 || proposal >= vocabSize) {
            throw new IllegalArgumentException("proposed token " + proposal + " is outside [0, " + vocabSize + ")");
        }
        process(source, offset, vocabSize, history, processor);
        return params.isGreedy() ? argmax(logits, 0, vocabSize) : draw(vocabSize, proposal);
    }

    /** Log-probabilities of the last call's penalized logits, before temperature and truncation. */
    public LogProbs logProbs(int chosen, int topN) {
        if (vocabSize == 0) throw new IllegalStateException("nothing sampled yet");
        return LogProbs.compute(logits, 0, vocabSize, chosen, topN);
    }

    private void prepare(float[] source, int offset, int n, TokenCounts history) {
        if (logits.length < n) {
            logits = new float[n];
            keys = new long[n];
            kept = new int[n];
        }
        vocabSize = n;
        for (int i = 0; i < n; i++) {
            float v = source[offset + i];
            logits[i] = Float.isNaN(v) ? Float.NEGATIVE_INFINITY : v;
        }
        if (history != null && params.hasPenalties()) {
            applyPenalties(logits, n, history, params);
        }
    }

    /** Applies the repetition, presence and frequency penalties in place. */
    static void applyPenalties(float[] logits, int n, TokenCounts history, SamplingParams p) {
        float rep = p.repetitionPenalty();
        float presence = p.presencePenalty();
        float frequency = p.frequencyPenalty();
        history.forEach((id, inPrompt, outputCount) -> {
            if (id >= n) return;
            float v = logits[id];
            if (rep != 1f && (inPrompt || outputCount > 0)) {
                v = v > 0 ? v / rep : v * rep;
            }
            if (outputCount > 0) {
                v -= presence + frequency * outputCount;
            }
            logits[id] = v;
        });
    }

    /** Index of the largest value; the lowest index on ties. */
    static int argmax(float[] a, int offset, int n) {
        int best = 0;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (a[offset + i] > bestValue) {
                bestValue = a[offset + i];
                best = i;
            }
        }
        return best;
    }

    /**
     * Draws from the truncated, renormalised distribution. With a {@code proposal} (else -1): first
     * accepts it with its probability, and on rejection draws from the rest renormalised.
     */
    private int draw(int n, int proposal) {
        float invT = 1f / params.temperature();
        int k = params.topK() > 0 ? Math.min(params.topK(), n) : n;
        float topP = params.topP();
        int count;
        boolean sorted;
        if (k < n) {
            for (int i = 0; i < n; i++) keys[i] = Ranking.key(logits[i], i);
            Ranking.selectSorted(keys, n, k);
            for (int i = 0; i < k; i++) kept[i] = Ranking.id(keys[i]);
            count = k;
            sorted = true;
        } else if (topP < 1f) {
            count = mostLikelyReaching(n, invT, topP);
            sorted = true;
        } else {
            for (int i = 0; i < n; i++) kept[i] = i;
            count = n;
            sorted = false;
        }
        float max = logits[kept[0]];
        if (!sorted) {
            for (int i = 1; i < count; i++) max = Math.max(max, logits[kept[i]]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            return argmax(logits, 0, n); // nothing has any probability; stay deterministic
        }

        // Weights relative to the most likely token: w = exp((l - max) / T), so w(max) = 1.
        if (sorted && k < n && topP < 1f) {
            count = prefixReaching(count, max, invT, topP);
        }
        float minWeight = params.minP(); // min-p against the most likely token's weight of 1
        double total = 0;
        int m = 0;
        for (int i = 0; i < count; i++) {
            int id = kept[i];
            float w = (float) Math.exp((logits[id] - max) * invT);
            if (w >= minWeight && w > 0) {
                kept[m++] = id;
                total += w;
            } else if (sorted) {
                break; // the rest are smaller still
            }
        }
        if (proposal >= 0) {
            double proposed = 0;
            for (int i = 0; i < m; i++) {
                if (kept[i] == proposal) {
                    proposed = (float) Math.exp((logits[proposal] - max) * invT); // as total adds it
                    break;
                }
            }
            if (random.nextDouble() * total < proposed) {
                return proposal;
            }
            total -= proposed;
            if (!(total > 0)) {
                return proposal; // only rounding can leave nothing else to draw
            }
        }
        double r = random.nextDouble() * total;
        double cumulative = 0;
        int lastKept = -1;
        for (int i = 0; i < m; i++) {
            if (kept[i] == proposal) {
                continue;
            }
            lastKept = kept[i];
            cumulative += Math.exp((logits[kept[i]] - max) * invT);
            if (r < cumulative) return kept[i];
        }
        return lastKept; // rounding left r at the very top
    }

    /** Top-p over the sorted top-k in kept[0, count): the shortest prefix reaching p of their mass. */
    private int prefixReaching(int count, float max, float invT, float p) {
        double total = 0;
        for (int i = 0; i < count; i++) total += Math.exp((logits[kept[i]] - max) * invT);
        double target = p * total;
        double cumulative = 0;
        for (int i = 0; i < count; i++) {
            cumulative += Math.exp((logits[kept[i]] - max) * invT);
            if (cumulative >= target) return i + 1;
        }
        return count;
    }

    /**
     * Top-p over the whole vocabulary: pops tokens from a heap, most likely first, into kept
     * until they hold p of the probability; costs O(V + m log V) for m tokens kept.
     */
    private int mostLikelyReaching(int n, float invT, float p) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[i]);
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += Math.exp((logits[i] - max) * invT);
            keys[i] = Ranking.key(logits[i], i);
        }
        Ranking.heapify(keys, n);
        double target = p * total;
        double cumulative = 0;
        int count = 0;
        for (int size = n; size > 0; size--) {
            int id = Ranking.id(Ranking.pop(keys, size));
            kept[count++] = id;
            cumulative += Math.exp((logits[id] - max) * invT);
            if (cumulative >= target) break;
        }
        return count;
    }
}
