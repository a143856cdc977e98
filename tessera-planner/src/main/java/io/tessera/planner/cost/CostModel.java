package io.tessera.planner.cost;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.Efficiency;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelShape;

/**
 * Step time of one replica for any batch of prefill chunks and decodes. Each operator is a
 * roofline: {@code max(flops / (peak x compute efficiency), bytes / (bandwidth x memory
 * efficiency))}, with the efficiency of its kind (GEMM, prefill or decode attention, elementwise).
 * Tensor parallelism adds two ring all-reduces per layer (an all-reduce and two all-to-alls with
 * expert parallelism); pipeline parallelism adds a point-to-point send per stage boundary. With
 * {@code pp} stages, {@code pp} batches are in flight; one batch's step then takes
 * {@code max(sum of stage times + sends, pp x slowest stage)}.
 */
public final class CostModel implements StepCost {

    /** Seconds by kind for one step, summed over the stages one batch passes. */
    public record Breakdown(double gemm, double attention, double ffn, double elementwise, double communication,
                            double head, double overhead, double total) {
    }

    private final ModelShape m;
    private final Precision p;
    private final Precision kv;
    private final Accelerator acc;
    private final Layout l;
    private final Efficiency eff;
    private final double peak;
    private final double peak16;
    private final double bw;
    private final double wb;
    private final double kvb;
    private final int[] denseLayers;
    private final int[] moeLayers;
    private final double tpLink;
    private final double ppLink;
    private final double alpha;

    public CostModel(ModelShape m, Precision p, Precision kv, Accelerator acc, Layout l) {
        this(m, p, kv, acc, l, p.bytesPerParam(), kv.bytesPerParam());
    }

    /**
     * A cost model with exact storage sizes instead of the precisions' round figures, e.g. 34/32
     * bytes per weight for GGUF Q8_0 and 4 bytes per KV value for an fp32 cache.
     */
    public CostModel(ModelShape m, Precision p, Precision kv, Accelerator acc, Layout l, double weightBytes,
                     double kvBytes) {
        this.m = m;
        this.p = p;
        this.kv = kv;
        this.acc = acc;
        this.l = l;
        this.eff = acc.efficiency();
        this.peak = acc.peakFlops(p);
        this.peak16 = acc.peakFlops(Precision.BF16);
        this.bw = acc.bandwidthBytesPerSecond();
        this.wb = weightBytes;
        this.kvb = kvBytes;
        this.denseLayers = new int[l.pp()];
        this.moeLayers = new int[l.pp()];
        for (int s = 0; s < l.pp(); s++) {
            for (int layer = MemoryModel.stageStart(m.layers(), l.pp(), s); layer < MemoryModel.stageStart(m.layers(), l.pp(), s + 1); layer++) {
                if (m.isMoeLayer(layer)) {
                    moeLayers[s]++;
                } else {
                    denseLayers[s]++;
                }
            }
        }
        this.tpLink = acc.linkBytesPerSecond(l.tp());
        this.ppLink = acc.linkBytesPerSecond(l.tp() * l.pp());
        this.alpha = acc.linkLatencyUs() * 1e-6;
    }

    public ModelShape model() {
        return m;
    }

    public Layout layout() {
        return l;
    }

    public Accelerator accelerator() {
        return acc;
    }

    public Precision precision() {
        return p;
    }

    public Precision kvPrecision() {
        return kv;
    }

    /** The rule-of-thumb bound: seconds to read every device's weights once, stage after stage. */
    public static double weightReadSeconds(ModelShape m, Precision p, Accelerator acc, Layout l) {
        double s = 0;
        for (int stage = 0; stage < l.pp(); stage++) {
            s += MemoryModel.deviceParams(m, l, stage) * p.bytesPerParam() / acc.bandwidthBytesPerSecond();
        }
        return s;
    }

    private static double roof(double flops, double peakFlops, double bytes, double bandwidth) {
        return Math.max(flops / peakFlops, bytes / bandwidth);
    }

    @Override
    public double seconds(Batch b) {
        if (b.isEmpty()) {
            return 0;
        }
        return breakdown(b).total();
    }

    public Breakdown breakdown(Batch b) {
        double[] parts = new double[6];
        double sum = 0;
        double slowest = 0;
        for (int s = 0; s < l.pp(); s++) {
            double[] st = new double[6];
            stage(b, s, st);
            double t = 0;
            for (int i = 0; i < 6; i++) {
                parts[i] += st[i];
                t += st[i];
            }
            sum += t;
            slowest = Math.max(slowest, t);
        }
        double sends = 0;
        if (l.pp() > 1) {
            sends = (l.pp() - 1) * (b.tokens * m.hidden() * 2.0 / ppLink + alpha);
            parts[4] += sends;
        }
        double body = Math.max(sum + sends, l.pp() * slowest);
        double overhead = eff.stepOverheadMs() * 1e-3;
        return new Breakdown(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], overhead, body + overhead);
    }

    /** Adds one stage's seconds into st: gemm, attention, ffn, elementwise, communication, head. */
    private void stage(Batch b, int s, double[] st) {
        int tp = l.tp();
        double tokens = b.tokens;
        double hidden = m.hidden();
        // attention projections
        double attnParams = (double) m.attentionSplitParams() / tp + m.attentionReplicatedParams();
        double qkvOut = (double) (m.heads() + 2 * m.kvHeads()) * m.qkHeadDim() / tp;
        double projAct = tokens * (2 * hidden + qkvOut) * 2;
        double proj = roof(2 * tokens * attnParams, peak * eff.gemmCompute(),
                attnParams * wb + projAct, bw * eff.weightStream());
        // attention over the KV cache
        double headsPerDevice = (double) m.heads() / tp;
        double kvPerTokenLayer = MemoryModel.deviceKvValuesPerToken(m, Layout.of(tp, 1), 0) / m.layers() * kvb;
        double attn = 0;
        if (b.decodes > 0) {
            double perPair = m.isMla() ? 2.0 * (m.kvLoraRank() + m.qkRopeHeadDim()) + 2.0 * m.kvLoraRank()
                    : 4.0 * m.qkHeadDim();
            attn += roof(b.decodeContext * headsPerDevice * perPair, peak16 * eff.attentionPrefill(),
                    b.decodeContext * kvPerTokenLayer, bw * eff.attentionDecode());
        }
        if (b.prefillChunks > 0) {
            double perPair = m.isMla() ? 2.0 * (m.qkNopeHeadDim() + m.qkRopeHeadDim()) + 2.0 * m.vHeadDim()
                    : 4.0 * m.qkHeadDim();
            attn += roof(b.prefillPairs * headsPerDevice * perPair, peak16 * eff.attentionPrefill(),
                    (b.prefillContext + b.prefillTokens) * kvPerTokenLayer, bw * eff.attentionDecode());
        }
        // feed-forward
        double denseFfn = 0;
        if (denseLayers[s] > 0) {
            double f = (double) m.denseFfnParams() / tp;
            denseFfn = roof(2 * tokens * f, peak * eff.gemmCompute(),
                    f * wb + tokens * (2.0 * m.intermediate() / tp + hidden) * 2, bw * eff.weightStream());
        }
        double moeFfn = 0;
        if (moeLayers[s] > 0) {
            double e = m.experts();
            double k = m.expertsPerToken();
            double touchedFraction = 1 - Math.pow(1 - k / e, tokens);
            double expert = m.expertParams();
            int ep = l.ep();
            double routedBytes = ep > 1 ? (e / ep) * touchedFraction * expert * wb : e * touchedFraction * expert / tp * wb;
            double routedFlops = 2 * tokens * k * expert / (ep > 1 ? ep : tp);
            double shared = (double) m.sharedExperts() * expert / tp;
            double flops = routedFlops + 2 * tokens * shared + 2 * tokens * m.routerParams();
            double bytes = routedBytes + shared * wb + m.routerParams() * wb
                    + tokens * (2.0 * m.moeIntermediate() * (k + m.sharedExperts()) / tp + hidden) * 2;
            moeFfn = roof(flops, peak * eff.gemmCompute(), bytes, bw * eff.weightStream());
        }
        // norms, residuals, rotary, activation
        double inner = m.isMoe() ? (double) m.moeIntermediate() * (m.expertsPerToken() + m.sharedExperts()) : m.intermediate();
        double elem = tokens * (8 * hidden + 3 * inner / tp) * 2 / (bw * eff.elementwise());
        // tensor-parallel collectives
        double ar = 0;
        double a2a = 0;
        if (tp > 1) {
            double bytes = tokens * hidden * 2;
            ar = 2.0 * (tp - 1) / tp * bytes / tpLink + 2.0 * (tp - 1) * alpha;
            if (l.ep() > 1) {
                a2a = 2 * ((double) (tp - 1) / tp * bytes * m.expertsPerToken() / tpLink + (tp - 1) * alpha);
            }
        }
        int nd = denseLayers[s];
        int nm = moeLayers[s];
        int layers = nd + nm;
        st[0] += layers * proj;
        st[1] += layers * attn;
        st[2] += nd * denseFfn + nm * moeFfn;
        st[3] += layers * elem;
        st[4] += nd * 2 * ar + nm * (l.ep() > 1 ? ar + a2a : 2 * ar);
        if (s == l.pp() - 1 && b.logits > 0) {
            double headParams = (double) m.vocab() * hidden / tp;
            st[5] += roof(2.0 * b.logits * headParams, peak * eff.gemmCompute(), headParams * wb, bw * eff.weightStream());
            if (tp > 1) {
                st[4] += (double) (tp - 1) / tp * b.logits * m.vocab() * 4 / tpLink + (tp - 1) * alpha;
            }
        }
    }
}
