package io.tessera.core.arch;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.ExpertGating;
import io.tessera.core.model.ExpertWeights;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.MoeWeights;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.tensor.Tensor;
import java.util.Arrays;

/**
 * A plain, one-token-at-a-time forward pass in double precision, written from the families'
 * published definitions rather than from Tessera's blocks: the oracle the blocks are checked
 * against. Slow (every weight row is decoded for every token); for models of a few layers.
 */
public final class ReferenceDecoder {

    private final Model model;
    private final ModelConfig c;
    /** The global rotation: inverse frequencies, then the magnitude ({@link #rotary}). */
    private final double[][] rotary;

    public ReferenceDecoder(Model model) {
        this.model = model;
        this.c = model.config();
        this.rotary = rotary();
    }

    /**
     * Per position of the last {@link #logits} run, the narrowest routing margin over its
     * mixture-of-experts layers: {@code ln(p_k / p_k+1)} between the last expert chosen and the
     * first one left out (infinite when every expert is used or the model has none). Where it is
     * small, rounding elsewhere (8-bit activations) may choose the other expert.
     */
    private double[] routingMargins = new double[0];
    private int position;

    public double[] routingMargins() {
        return routingMargins.clone();
    }

    /** The logits at every position of {@code tokens}, run as one sequence from position 0. */
    public double[][] logits(int[] tokens) {
        int n = tokens.length;
        routingMargins = new double[n];
        Arrays.fill(routingMargins, Double.POSITIVE_INFINITY);
        double[][][] keys = new double[c.layers()][n][];
        double[][][] values = new double[c.layers()][n][];
        double[][] out = new double[n][];
        for (int p = 0; p < n; p++) {
            position = p;
            double[] x = row(model.tokenEmbedding(), tokens[p]);
            if (c.embeddingScale() > 0) {
                for (int i = 0; i < x.length; i++) {
                    x[i] *= Math.sqrt(c.dim()); // Gemma's normalizer, the one embedding scale in use
                }
            }
            for (int l = 0; l < c.layers(); l++) {
                DecoderLayer layer = model.layers().get(l);
                double[] a = attention(l, layer.attention(), rmsNorm(x, layer.attention().norm()), p, keys[l],
                        values[l]);
                add(x, layer.attention().postNorm() == null ? a : rmsNorm(a, layer.attention().postNorm()));
                double[] f = layer.moe() != null ? mixtureOfExperts(layer.moe(), rmsNorm(x, layer.moe().norm()))
                        : feedForward(layer.feedForward(), rmsNorm(x, layer.feedForward().norm()));
                float[] post = layer.feedForwardPostNorm();
                add(x, post == null ? f : rmsNorm(f, post));
            }
            out[p] = matVec(model.output(), rmsNorm(x, model.finalNorm()));
            if (c.finalLogitSoftcap() > 0) {
                softcap(out[p], c.finalLogitSoftcap());
            }
        }
        return out;
    }

    private double[] attention(int layer, AttentionWeights w, double[] h, int pos, double[][] keys,
            double[][] values) {
        int hd = c.headDim();
        // Gemma 3: five local layers of every six, then a global one (Hugging Face's
        // (i + 1) % sliding_window_pattern); local layers rotate with their own base, unscaled
        int pattern = c.attention().slidingWindowPattern();
        boolean local = c.attention().slidingWindow() > 0 && (pattern == 0 || (layer + 1) % pattern != 0);
        boolean ownBase = local && c.attention().localRopeTheta() > 0;
        double[] q = plus(matVec(w.wq(), h), w.bq());
        double[] k = plus(matVec(w.wk(), h), w.bk());
        double[] v = plus(matVec(w.wv(), h), w.bv());
        if (w.qNorm() != null && c.attention().qkNormOverProjection()) {
            normalizeSlice(q, 0, q.length, w.qNorm()); // OLMoE: the whole projection at once
            normalizeSlice(k, 0, k.length, w.kNorm());
        }
        for (int head = 0; head < c.heads(); head++) {
            if (w.qNorm() != null && !c.attention().qkNormOverProjection()) {
                normalizeSlice(q, head * hd, hd, w.qNorm());
            }
            rotate(q, head * hd, pos, ownBase);
        }
        for (int head = 0; head < c.kvHeads(); head++) {
            if (w.kNorm() != null && !c.attention().qkNormOverProjection()) {
                normalizeSlice(k, head * hd, hd, w.kNorm());
            }
            rotate(k, head * hd, pos, ownBase);
        }
        keys[pos] = k;
        values[pos] = v;
        double[] att = new double[c.qDim()];
        int window = local ? c.attention().slidingWindow() : 0;
        double scale = c.attention().scoreScale() > 0 ? c.attention().scoreScale() : 1 / Math.sqrt(hd);
        int from = window == 0 ? 0 : Math.max(0, pos - window + 1); // the last `window` positions
        double cap = c.attention().logitSoftcap();
        for (int head = 0; head < c.heads(); head++) {
            int kvOff = (head / c.groupSize()) * hd;
            double[] s = new double[pos + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = from; j <= pos; j++) {
                double d = 0;
                for (int i = 0; i < hd; i++) {
                    d += q[head * hd + i] * keys[j][kvOff + i];
                }
                s[j] = d * scale;
                if (cap > 0) {
                    s[j] = cap * Math.tanh(s[j] / cap);
                }
                max = Math.max(max, s[j]);
            }
            double sum = 0;
            for (int j = from; j <= pos; j++) {
                s[j] = Math.exp(s[j] - max);
                sum += s[j];
            }
            for (int j = from; j <= pos; j++) {
                for (int i = 0; i < hd; i++) {
                    att[head * hd + i] += s[j] / sum * values[j][kvOff + i];
                }
            }
        }
        return matVec(w.wo(), att);
    }

    /**
     * A mixture of experts as Mixtral's and Qwen MoE's Hugging Face code defines it: router
     * probabilities (softmax over all experts, or each logit's sigmoid), the top k, their weights
     * divided by their sum when the model renormalises, times the scale; the weighted sum of the
     * chosen experts' SwiGLU outputs, plus the shared expert's times {@code sigmoid(h · gate)}.
     */
    private double[] mixtureOfExperts(MoeWeights w, double[] h) {
        MoeOptions o = c.moe();
        double[] p = matVec(w.router(), h);
        if (o.gating() == ExpertGating.SOFTMAX) {
            double max = Arrays.stream(p).max().orElseThrow();
            double sum = 0;
            for (int e = 0; e < p.length; e++) {
                p[e] = Math.exp(p[e] - max);
                sum += p[e];
            }
            for (int e = 0; e < p.length; e++) {
                p[e] /= sum;
            }
        } else {
            for (int e = 0; e < p.length; e++) {
                p[e] = 1 / (1 + Math.exp(-p[e]));
            }
        }
        Integer[] order = new Integer[p.length];
        for (int e = 0; e < order.length; e++) {
            order[e] = e;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        if (o.expertsUsed() < p.length) {
            routingMargins[position] = Math.min(routingMargins[position],
                    Math.log(p[order[o.expertsUsed() - 1]] / p[order[o.expertsUsed()]]));
        }
        double chosenSum = 0;
        for (int i = 0; i < o.expertsUsed(); i++) {
            chosenSum += p[order[i]];
        }
        double[] out = new double[c.dim()];
        for (int i = 0; i < o.expertsUsed(); i++) {
            int e = order[i];
            double weight = (o.normalizeTopK() ? p[e] / chosenSum : p[e]) * o.weightsScale();
            ExpertWeights ex = w.experts().get(e);
            double[] y = swiGlu(ex.gate(), ex.up(), ex.down(), h);
            for (int j = 0; j < out.length; j++) {
                out[j] += weight * y[j];
            }
        }
        if (w.shared() != null) {
            double gate = 1;
            if (w.sharedGate() != null) {
                double d = 0;
                for (int j = 0; j < h.length; j++) {
                    d += h[j] * w.sharedGate()[j];
                }
                gate = 1 / (1 + Math.exp(-d));
            }
            double[] y = swiGlu(w.shared().gate(), w.shared().up(), w.shared().down(), h);
            for (int j = 0; j < out.length; j++) {
                out[j] += gate * y[j];
            }
        }
        return out;
    }

    private double[] swiGlu(Tensor gate, Tensor up, Tensor down, double[] h) {
        double[] g = matVec(gate, h);
        double[] u = matVec(up, h);
        for (int i = 0; i < g.length; i++) {
            g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        return matVec(down, g);
    }

    private double[] feedForward(FeedForwardWeights w, double[] h) {
        double[] g = matVec(w.gate(), h);
        double[] u = matVec(w.up(), h);
        for (int i = 0; i < g.length; i++) {
            double a = c.feedForward() == FeedForwardKind.SWIGLU
                    ? g[i] / (1 + Math.exp(-g[i]))
                    : 0.5 * g[i] * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g[i] + 0.044715 * Math.pow(g[i], 3))));
            g[i] = a * u[i];
        }
        return matVec(w.down(), g);
    }

    /**
     * Rotary embedding of the first {@code rotaryDim} dimensions of one head: pair i turns by
     * {@code pos · invFreq_i} and is scaled by the rope's attention factor (both from
     * {@link #rotary}); local layers of their own base take neither scaling nor factor.
     */
    private void rotate(double[] x, int off, int pos, boolean localBase) {
        int rd = c.attention().rotaryDim() > 0 ? c.attention().rotaryDim() : c.headDim();
        double[] inv = localBase ? plainFrequencies(c.attention().localRopeTheta(), rd) : rotary[0];
        double magnitude = localBase ? 1 : rotary[1][0];
        for (int i = 0; i < rd / 2; i++) {
            double angle = pos * inv[i];
            int a = c.ropeStyle() == RopeStyle.INTERLEAVED ? off + 2 * i : off + i;
            int b = c.ropeStyle() == RopeStyle.INTERLEAVED ? a + 1 : a + rd / 2;
            double x0 = x[a];
            double x1 = x[b];
            x[a] = (x0 * Math.cos(angle) - x1 * Math.sin(angle)) * magnitude;
            x[b] = (x0 * Math.sin(angle) + x1 * Math.cos(angle)) * magnitude;
        }
    }

    private static double[] plainFrequencies(double theta, int rd) {
        double[] inv = new double[rd / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = Math.pow(theta, -2.0 * i / rd);
        }
        return inv;
    }

    /**
     * The inverse frequencies and the magnitude of the global rotation, from the published
     * formulas (Hugging Face's {@code modeling_rope_utils}) rather than Tessera's: linear divides
     * every frequency by the factor; YaRN mixes the interpolated and the original frequency by a
     * linear ramp between the correction dimensions of beta_fast and beta_slow and scales by
     * {@code 0.1·ln(factor) + 1}; longrope divides by the file's long list when the configured
     * context is past the original one (llama.cpp's choice; Hugging Face's per sequence length),
     * else by the short list, and scales by {@code √(1 + ln(factor)/ln(original))}. Llama 3's factors
     * are the file's {@code rope_freqs} data.
     */
    private double[][] rotary() {
        int rd = c.attention().rotaryDim() > 0 ? c.attention().rotaryDim() : c.headDim();
        double[] inv = plainFrequencies(c.ropeTheta(), rd);
        RopeScaling s = c.ropeScaling();
        double magnitude = 1;
        switch (s.type()) {
            case NONE -> {
                if (model.ropeFrequencyFactors() != null) {
                    divide(inv, model.ropeFrequencyFactors());
                }
            }
            case LLAMA3 -> divide(inv, model.ropeFrequencyFactors() != null ? model.ropeFrequencyFactors()
                    : model.rotaryFactors());
            case LINEAR -> {
                for (int i = 0; i < inv.length; i++) {
                    inv[i] /= s.factor();
                }
            }
            case YARN -> {
                double factor = s.factor();
                double low = Math.max(Math.floor(correctionDim(s.betaFast(), rd, c.ropeTheta(), s.originalContext())), 0);
                double high = Math.min(Math.ceil(correctionDim(s.betaSlow(), rd, c.ropeTheta(), s.originalContext())),
                        rd - 1);
                if (low == high) {
                    high += 0.001;
                }
                for (int i = 0; i < inv.length; i++) {
                    double extrapolation = 1 - Math.min(1, Math.max(0, (i - low) / (high - low)));
                    inv[i] = inv[i] / factor * (1 - extrapolation) + inv[i] * extrapolation;
                }
                magnitude = 0.1 * Math.log(factor) + 1;
            }
            case LONGROPE -> {
                boolean longContext = c.contextLength() > s.originalContext();
                divide(inv, longContext ? model.longContextRopeFactors() : model.ropeFrequencyFactors());
                magnitude = s.factor() <= 1 ? 1 : Math.sqrt(1 + Math.log(s.factor()) / Math.log(s.originalContext()));
            }
        }
        return new double[][] {inv, {magnitude}};
    }

    private static double correctionDim(double rotations, int dim, double base, int originalContext) {
        return dim * Math.log(originalContext / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    private static void divide(double[] inv, float[] factors) {
        for (int i = 0; i < inv.length; i++) {
            inv[i] /= factors[i];
        }
    }

    private static void softcap(double[] x, double cap) {
        for (int i = 0; i < x.length; i++) {
            x[i] = cap * Math.tanh(x[i] / cap);
        }
    }

    private double[] rmsNorm(double[] x, float[] weight) {
        double[] out = x.clone();
        normalizeSlice(out, 0, x.length, weight);
        return out;
    }

    private void normalizeSlice(double[] x, int off, int n, float[] weight) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += x[off + i] * x[off + i];
        }
        double scale = 1 / Math.sqrt(ss / n + c.rmsEps());
        for (int i = 0; i < n; i++) {
            x[off + i] = x[off + i] * scale * weight[i];
        }
    }

    private static double[] matVec(Tensor w, double[] x) {
        double[] out = new double[Math.toIntExact(w.rowCount())];
        float[] r = new float[w.rowLength()];
        for (int o = 0; o < out.length; o++) {
            MatMul.row(w, o, r, 0);
            double d = 0;
            for (int i = 0; i < r.length; i++) {
                d += r[i] * x[i];
            }
            out[o] = d;
        }
        return out;
    }

    private static double[] row(Tensor w, int r) {
        float[] f = new float[w.rowLength()];
        MatMul.row(w, r, f, 0);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double[] plus(double[] x, float[] bias) {
        if (bias != null) {
            for (int i = 0; i < x.length; i++) {
                x[i] += bias[i];
            }
        }
        return x;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
