package io.tessera.core.smoothquant;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.GgufModelWriter.WeightSource;
import io.tessera.core.model.Model;
import io.tessera.core.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * SmoothQuant (Xiao et al., 2023): per input channel j of a linear layer, the factor
 * {@code s_j = max|X_j|^α / max|W_j|^(1−α)} moves quantization difficulty from the activations
 * (whose outlier channels make per-token int8 rounding coarse) into the weights: X is divided by s
 * and W's column j multiplied by it, which leaves X·Wᵀ unchanged. The division is folded into
 * what produces X, so nothing is added at run time:
 *
 * <ul>
 * <li>Q, K and V: into the attention RMSNorm's weight (one s for the three, W_j their largest
 *     column magnitude);</li>
 * <li>gate and up: into the feed-forward RMSNorm's weight;</li>
 * <li>down: into the rows of up (down's input is act(gate) ⊙ up, linear in each row of up), as
 *     llm-compressor's Llama mapping does;</li>
 * <li>the attention output projection: left unsmoothed. Its input is the attention output, whose
 *     channel j comes from V's row j; with grouped-query attention one V row serves several query
 *     heads, so the o_proj columns of those heads would have to share one factor. SmoothQuant's own
 *     code and llm-compressor's Llama mapping leave it out too.</li>
 * </ul>
 *
 * Mixture-of-experts feed-forward blocks are left unsmoothed. A factor is 1 where a maximum is 0 or
 * not finite, and is kept within [1e-5, 1e5].
 */
public final class SmoothQuant {

    private static final float MIN_FACTOR = 1e-5f;
    private static final float MAX_FACTOR = 1e5f;

    /** Per layer, the factors of the attention input, the feed-forward input and down's input (null: none). */
    private final Map<String, float[]> columnFactors = new HashMap<>();
    private final Map<String, float[]> rowDivisors = new HashMap<>();
    private final Map<String, float[]> vectorDivisors = new HashMap<>();

    private SmoothQuant() {
    }

    /** The factors of every smoothed layer of model, from its calibration maxima, with migration strength alpha. */
    public static SmoothQuant plan(Model model, ActivationMaxima maxima, float alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("--alpha must lie in [0, 1], got " + alpha);
        }
        SmoothQuant p = new SmoothQuant();
        for (int l = 0; l < model.layers().size(); l++) {
            DecoderLayer layer = model.layers().get(l);
            var a = layer.attention();
            float[] s = factors(maxima.of(a.wq().name()), alpha, a.wq(), a.wk(), a.wv());
            p.vectorDivisors.put(attnNorm(l), s);
            p.columnFactors.put(attnQ(l), s);
            p.columnFactors.put(attnK(l), s);
            p.columnFactors.put(attnV(l), s);
            if (layer.feedForward() == null) {
                continue;
            }
            var f = layer.feedForward();
            float[] sf = factors(maxima.of(f.gate().name()), alpha, f.gate(), f.up());
            p.vectorDivisors.put(ffnNorm(l), sf);
            p.columnFactors.put(ffnGate(l), sf);
            p.columnFactors.put(ffnUp(l), sf);
            float[] sd = factors(maxima.of(f.down().name()), alpha, f.down());
            p.rowDivisors.put(ffnUp(l), sd);
            p.columnFactors.put(ffnDown(l), sd);
        }
        return p;
    }

    /** s_j for input maxima x and the largest magnitude of column j over the given matrices. */
    static float[] factors(float[] x, float alpha, Tensor... ws) {
        int in = x.length;
        float[] wmax = new float[in];
        for (Tensor w : ws) {
            float[] row = new float[in];
            for (long r = 0; r < w.rowCount(); r++) {
                MatMul.row(w, r, row, 0);
                for (int j = 0; j < in; j++) {
                    wmax[j] = Math.max(wmax[j], Math.abs(row[j]));
                }
            }
        }
        float[] s = new float[in];
        for (int j = 0; j < in; j++) {
            double f = Math.pow(x[j], alpha) / Math.pow(wmax[j], 1 - alpha);
            s[j] = x[j] > 0 && wmax[j] > 0 && Double.isFinite(f)
                    ? (float) Math.max(MIN_FACTOR, Math.min(MAX_FACTOR, f)) : 1f;
        }
        return s;
    }

    /** The factors applied to the named matrix's columns (null when it is not smoothed). */
    public float[] columnFactors(String matrix) {
        float[] s = columnFactors.get(matrix);
        return s == null ? null : s.clone();
    }

    /**
     * The model's weights with the factors folded in: the named norms divided by s, the smoothed
     * matrices' columns multiplied by s, up's rows divided by down's s. Everything else as given.
     */
    public WeightSource apply(WeightSource source) {
        return (tensor, row, dst, n) -> {
            source.row(tensor, row, dst, n);
            float[] v = vectorDivisors.get(tensor);
            if (v != null) {
                for (int j = 0; j < n; j++) {
                    dst[j] /= v[j];
                }
            }
            float[] c = columnFactors.get(tensor);
            if (c != null) {
                for (int j = 0; j < n; j++) {
                    dst[j] *= c[j];
                }
            }
            float[] r = rowDivisors.get(tensor);
            if (r != null) {
                float d = r[Math.toIntExact(row)];
                for (int j = 0; j < n; j++) {
                    dst[j] /= d;
                }
            }
        };
    }
}
