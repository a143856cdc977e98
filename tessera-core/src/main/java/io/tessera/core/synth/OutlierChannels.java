package io.tessera.core.synth;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.model.GgufModelWriter.WeightSource;
import io.tessera.core.model.ModelConfig;

/**
 * Outlier channels injected into a model without changing what it computes, to reproduce the
 * activation outliers of large trained models (LLM.int8(), SmoothQuant) in a synthetic one. In
 * {@code count} channels the input of every linear layer is made {@code scale} times larger and the
 * weights that read it {@code scale} times smaller:
 *
 * <ul>
 * <li>hidden channels: the attention and feed-forward RMSNorm weights × scale, the columns of Q, K,
 *     V, gate and up ÷ scale;</li>
 * <li>feed-forward channels: up's rows × scale, down's columns ÷ scale;</li>
 * <li>attention-output channels: V's rows (and bias) × scale, and the output projection's columns
 *     of every query head reading that V row ÷ scale.</li>
 * </ul>
 *
 * In exact arithmetic the model's outputs are unchanged; in float they change by rounding only, so
 * the file with outliers is its own reference. Channels are spread over each width, the same for
 * every layer. Dense feed-forward blocks only.
 */
public record OutlierChannels(int count, float scale) {

    public OutlierChannels {
        if (count < 0 || !(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("outlier channels: count " + count + " must be >= 0 and scale " + scale
                    + " positive and finite");
        }
    }

    /** {@code source} with the outliers injected for a model of configuration cfg. */
    public WeightSource apply(WeightSource source, ModelConfig cfg) {
        if (count == 0) {
            return source;
        }
        boolean[] hidden = channels(cfg.dim());
        boolean[] ffn = channels(cfg.hiddenDim());
        boolean[] kv = channels(cfg.kvDim());
        int group = cfg.heads() / cfg.kvHeads();
        int headDim = cfg.headDim();
        return (tensor, row, dst, n) -> {
            source.row(tensor, row, dst, n);
            int l = layerOf(tensor);
            if (l < 0) {
                return;
            }
            if (tensor.equals(attnNorm(l)) || tensor.equals(ffnNorm(l))) {
                scaleWhere(dst, n, hidden, scale);
            } else if (tensor.equals(attnQ(l)) || tensor.equals(attnK(l)) || tensor.equals(ffnGate(l))) {
                scaleWhere(dst, n, hidden, 1 / scale);
            } else if (tensor.equals(attnV(l))) {
                scaleWhere(dst, n, hidden, 1 / scale);
                if (kv[Math.toIntExact(row)]) {
                    scaleAll(dst, n, scale);
                }
            } else if (tensor.equals(attnVBias(l))) {
                scaleWhere(dst, n, kv, scale);
            } else if (tensor.equals(ffnUp(l))) {
                scaleWhere(dst, n, hidden, 1 / scale);
                if (ffn[Math.toIntExact(row)]) {
                    scaleAll(dst, n, scale);
                }
            } else if (tensor.equals(ffnDown(l))) {
                scaleWhere(dst, n, ffn, 1 / scale);
            } else if (tensor.equals(attnOutput(l))) {
                // column h·headDim + d reads V row (h / group)·headDim + d
                for (int c = 0; c < n; c++) {
                    if (kv[c / headDim / group * headDim + c % headDim]) {
                        dst[c] /= scale;
                    }
                }
            }
        };
    }

    /** {@code count} channels of a width, spread over it (every width/count-th, from the middle of the first stride). */
    boolean[] channels(int width) {
        boolean[] c = new boolean[width];
        int k = Math.min(count, width);
        for (int i = 0; i < k; i++) {
            c[(int) ((long) width * (2L * i + 1) / (2L * k))] = true;
        }
        return c;
    }

    private static void scaleWhere(float[] v, int n, boolean[] where, float f) {
        for (int i = 0; i < n; i++) {
            if (where[i]) {
                v[i] *= f;
            }
        }
    }

    private static void scaleAll(float[] v, int n, float f) {
        for (int i = 0; i < n; i++) {
            v[i] *= f;
        }
    }

    private static int layerOf(String tensor) {
        if (!tensor.startsWith("blk.")) {
            return -1;
        }
        int dot = tensor.indexOf('.', 4);
        return dot < 0 ? -1 : Integer.parseInt(tensor.substring(4, dot));
    }
}
