package io.tessera.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (lowest index among equal maxima) or by
 * temperature with optional top-k / top-p truncation; and computes log-probabilities.
 * The random stream of each token is derived from (seed, sample index, token index), so a seeded
 * sample does not depend on scheduling.
 */
final class TokenSampler {

    private TokenSampler() {
    }

    static SplittableRandom rngFor(long seed, int sample, int tokenIndex) {
        long s = seed * 0x9e3779b97f4a7c15L + sample * 0xc2b2ae3d27d4eb4fL + tokenIndex * 0x165667b19e3779f9L;
        return new SplittableRandom(s);
    }

    static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
    }

    static int sample(float[] logits, int off, int vocab, GenerateParams p, SplittableRandom rng) {
        if (p.temperature() == 0f || p.topK() == 1) {
            return argmax(logits, off, vocab);
        }
        Integer[] order = null;
        int keep = vocab;
        float[] probs = new float[vocab];
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            probs[i] = (float) Math.exp((logits[off + i] - max) / p.temperature());
            sum += probs[i];
        }
        if (p.topK() > 0 || p.topP() < 1f) {
            order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) {
                order[i] = i;
            }
            final float[] pr = probs;
            Arrays.sort(order, (a, b) -> pr[a] != pr[b] ? Float.compare(pr[b], pr[a]) : Integer.compare(a, b));
            if (p.topK() > 0) {
                keep = Math.min(keep, p.topK());
            }
            if (p.topP() < 1f) {
                double acc = 0;
                int k = 0;
                while (k < keep) {
                    acc += probs[order[k]] / sum;
                    k++;
                    if (acc >= p.topP()) {
                        break;
                    }
                }
                keep = k;
            }
            double kept = 0;
            for (int i = 0; i < keep; i++) {
                kept += probs[order[i]];
            }
            double r = rng.nextDouble() * kept;
            for (int i = 0; i < keep; i++) {
                r -= probs[order[i]];
                if (r < 0) {
                    return order[i];
                }
            }
            return order[keep - 1];
        }
        double r = rng.nextDouble() * sum;
        int last = 0;
        for (int i = 0; i < vocab; i++) {
            if (probs[i] > 0) {
                last = i;
                r -= probs[i];
                if (r < 0) {
                    return i;
                }
            }
        }
        return last;
    }

    /** Log-probability of {@code token} and the {@code top} most likely tokens, from raw logits. */
    static TokenLogprob logprobs(float[] logits, int off, int vocab, int token, int top) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        float logZ = (float) (max + Math.log(sum));
        List<TokenLogprob.Top> best = new ArrayList<>();
        if (top > 0) {
            int[] idx = new int[Math.min(top, vocab)];
            int filled = 0;
            for (int i = 0; i < vocab; i++) {
                float v = logits[off + i];
                if (filled < idx.length) {
                    int j = filled++;
                    while (j > 0 && logits[off + idx[j - 1]] < v) {
                        idx[j] = idx[j - 1];
                        j--;
                    }
                    idx[j] = i;
                } else if (v > logits[off + idx[idx.length - 1]]) {
                    int j = idx.length - 1;
                    while (j > 0 && logits[off + idx[j - 1]] < v) {
                        idx[j] = idx[j - 1];
                        j--;
                    }
                    idx[j] = i;
                }
            }
            for (int i = 0; i < filled; i++) {
                best.add(new TokenLogprob.Top(idx[i], logits[off + idx[i]] - logZ));
            }
        }
        return new TokenLogprob(token, logits[off + token] - logZ, best);
    }
}
