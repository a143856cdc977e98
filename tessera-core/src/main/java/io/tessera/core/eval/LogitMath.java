package io.tessera.core.eval;

/**
 * Per-token quantities from one row of logits, in double precision: the negative log-likelihood of
 * a target, the KL divergence from a base distribution, the top token.
 */
final class LogitMath {

    private LogitMath() {
    }

    /** {@code log Σ exp(logits[off .. off+n))}, shifted by the maximum so that nothing overflows. */
    static double logSumExp(float[] logits, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        return max + Math.log(sum);
    }

    /** The index of the largest logit (the first of equals). */
    static int argmax(float[] logits, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[off + i] > logits[off + best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * {@code KL(base || model) = Σ p_base · (log p_base − log p_model)}, as llama.cpp's
     * {@code --kl-divergence} computes it; each side given with its log-sum-exp.
     */
    static double klDivergence(float[] base, int baseOff, double baseLse, float[] model, int modelOff,
            double modelLse, int n) {
        double kl = 0;
        for (int i = 0; i < n; i++) {
            double logPb = base[baseOff + i] - baseLse;
            double logPm = model[modelOff + i] - modelLse;
            kl += Math.exp(logPb) * (logPb - logPm);
        }
        return Math.max(0, kl); // rounding can leave a tiny negative sum for identical rows
    }
}
