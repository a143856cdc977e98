package io.tessera.planner.cost;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.Efficiency;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelSpec;

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

    private final ModelSpec m;
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
    private final double overlap;
    // per-layer constants of this layout, hoisted out of the simulator's inner loop
    private final double attnParams;
    private final double qkvOut;
    private final double headsPerDevice;
    private final double kvPerTokenLayer;
    private final double decodePerPair;
    private final double prefillPerPair;
    private final double denseFfnParams;
    private final double headParams;
    private final double elemPerToken;
    private final double[] stageOps;
    private final double[] stageOpsNoHead;
    private final double stepOverhead;
    private final double opOverhead;

    public CostModel(ModelSpec m, Precision p, Precision kv, Accelerator acc, Layout l) {
        this(m, p, kv, acc, l, p.bytesPerParam(), kv.bytesPerParam());
    }

    /**
     * A cost model with exact storage sizes instead of the precisions' round figures, e.g. 34/32
     * bytes per weight for GGUF Q8_0 and 4 bytes per KV value for an fp32 cache.
     */
    public CostModel(ModelSpec m, Precision p, Precision kv, Accelerator acc, Layout l, double weightBytes,
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
        this.overlap = eff.overlap();
        int tp = l.tp();
        this.attnParams = (double) m.attentionSplitParams() / tp + m.attentionReplicatedParams();
        this.qkvOut = (double) (m.heads() + 2 * m.kvHeads()) * m.qkHeadDim() / tp;
        this.headsPerDevice = (double) m.heads() / tp;
        this.kvPerTokenLayer = MemoryModel.deviceKvValuesPerToken(m, Layout.of(tp, 1), 0) / m.layers() * kvb;
        this.decodePerPair = m.isMla() ? 2.0 * (m.kvLoraRank() + m.qkRopeHeadDim()) + 2.0 * m.kvLoraRank()
                : 4.0 * m.qkHeadDim();
        this.prefillPerPair = m.isMla() ? 2.0 * (m.qkNopeHeadDim() + m.qkRopeHeadDim()) + 2.0 * m.vHeadDim()
                : 4.0 * m.qkHeadDim();
        this.denseFfnParams = (double) m.denseFfnParams() / tp;
        this.headParams = (double) m.vocab() * m.hidden() / tp;
        double inner = m.isMoe() ? (double) m.moeIntermediate() * (m.expertsPerToken() + m.sharedExperts()) : m.intermediate();
        this.elemPerToken = (8.0 * m.hidden() + 3 * inner / tp) * 2;
        this.stageOps = new double[l.pp()];
        this.stageOpsNoHead = new double[l.pp()];
        double moeOps = 5 + 3 + 3.0 * (m.expertsPerToken() + m.sharedExperts());
        for (int st = 0; st < l.pp(); st++) {
            stageOpsNoHead[st] = denseLayers[st] * OPS_PER_DENSE_LAYER + moeLayers[st] * moeOps;
            stageOps[st] = stageOpsNoHead[st] + (st == l.pp() - 1 ? 1 : 0);
        }
        this.stepOverhead = eff.stepOverheadMs() * 1e-3;
        this.opOverhead = eff.opOverheadUs() * 1e-6;
    }

    public ModelSpec model() {
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
    public static double weightReadSeconds(ModelSpec m, Precision p, Accelerator acc, Layout l) {
        double s = 0;
        for (int stage = 0; stage < l.pp(); stage++) {
            s += MemoryModel.deviceParams(m, l, stage) * p.bytesPerParam() / acc.bandwidthBytesPerSecond();
        }
        return s;
    }

    /**
     * The terms of a step a calibration fits, each in seconds at the device's peaks with every
     * efficiency 1 (so that with {@code overlap = 0} the step time is their dot product with the
     * inverse efficiencies, and the two overheads in seconds): {@link #T_STEP} 1 per step,
     * {@link #T_OPS} the operator count in microseconds, then GEMM FLOPs / peak, weight and
     * activation bytes / bandwidth, attention FLOPs / peak, KV-cache bytes / bandwidth, elementwise
     * bytes / bandwidth, and communication seconds (not fitted).
     */
    public static final int T_STEP = 0;
    public static final int T_OPS = 1;
    public static final int T_GEMM_FLOPS = 2;
    public static final int T_WEIGHT_BYTES = 3;
    public static final int T_ATTN_FLOPS = 4;
    public static final int T_KV_BYTES = 5;
    public static final int T_ELEMENTWISE = 6;
    public static final int T_COMM = 7;
    public static final int TERMS = 8;

    /**
     * Parallel operators per dense layer as Tessera runs them: Q/K/V as one, attention, O, gate/up with
     * the SwiGLU gating as one, down.
     */
    static final int OPS_PER_DENSE_LAYER = 5;

    /** The fit terms of a step (see {@link #T_STEP}); pipeline stages are summed. */
    public double[] terms(Batch b) {
        double[] t = new double[TERMS];
        if (b.isEmpty()) {
            return t;
        }
        double[] parts = new double[6];
        for (int s = 0; s < l.pp(); s++) {
            stage(b, s, parts, t);
        }
        if (l.pp() > 1) {
            t[T_COMM] += (l.pp() - 1) * (b.tokens * m.hidden() * 2.0 / ppLink + alpha);
        }
        t[T_STEP] = 1;
        return t;
    }

    /** Operators one step runs on a stage, for the per-operator overhead. */
    private double ops(Batch b, int s) {
        return b.logits > 0 ? stageOps[s] : stageOpsNoHead[s];
    }

    /**
     * One operator: compute seconds {@code flops / rate} and memory seconds {@code bytes / bandwidth},
     * combined as {@code max + (1 - overlap) x min}; the raw terms go to {@code terms} when asked.
     */
    private double op(double flops, double peakRate, double computeEff, int flopTerm, double bytes, double bandwidth,
                      double memoryEff, int byteTerm, double count, double[] terms) {
        double c = flops / (peakRate * computeEff);
        double mem = bytes / (bandwidth * memoryEff);
        if (terms != null) {
            terms[flopTerm] += count * flops / peakRate;
            terms[byteTerm] += count * bytes / bandwidth;
        }
        return count * (Math.max(c, mem) + (1 - overlap) * Math.min(c, mem));
    }

    @Override
    public double seconds(Batch b) {
        if (b.isEmpty()) {
            return 0;
        }
        int pp = l.pp();
        if (pp == 1) {
            return stage(b, 0, null, null) + stepOverhead;
        }
        double sum = 0;
        double slowest = 0;
        double t = 0;
        for (int s = 0; s < pp; s++) {
            // stages before the last with the layers of the previous one take its time
            if (s == 0 || s == pp - 1 || denseLayers[s] != denseLayers[s - 1] || moeLayers[s] != moeLayers[s - 1]) {
                t = stage(b, s, null, null);
            }
            sum += t;
            slowest = Math.max(slowest, t);
        }
        double sends = (pp - 1) * (b.tokens * m.hidden() * 2.0 / ppLink + alpha);
        return Math.max(sum + sends, pp * slowest) + stepOverhead;
    }

    public Breakdown breakdown(Batch b) {
        double[] parts = new double[6];
        double sum = 0;
        double slowest = 0;
        double opsOverhead = 0;
        for (int s = 0; s < l.pp(); s++) {
            double t = stage(b, s, parts, null);
            opsOverhead += ops(b, s) * opOverhead;
            sum += t;
            slowest = Math.max(slowest, t);
        }
        double sends = 0;
        if (l.pp() > 1) {
            sends = (l.pp() - 1) * (b.tokens * m.hidden() * 2.0 / ppLink + alpha);
            parts[4] += sends;
        }
        double body = Math.max(sum + sends, l.pp() * slowest);
        return new Breakdown(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], stepOverhead + opsOverhead,
                body + stepOverhead);
    }

    /**
     * One stage's seconds, operator overheads included; adds its parts into {@code st} (gemm,
     * attention, ffn, elementwise, communication, head) and its fit terms into {@code terms} when
     * they are not null.
     */
    private double stage(Batch b, int s, double[] st, double[] terms) {
        int nd = denseLayers[s];
        int nm = moeLayers[s];
        int layers = nd + nm;
        double ops = ops(b, s);
        if (terms != null) {
            terms[T_OPS] += ops * 1e-6;
        }
        int tp = l.tp();
        double tokens = b.tokens;
        double hidden = m.hidden();
        // attention projections
        double projAct = tokens * (2 * hidden + qkvOut) * 2;
        double proj = op(2 * tokens * attnParams, peak, eff.gemmCompute(), T_GEMM_FLOPS,
                attnParams * wb + projAct, bw, eff.weightStream(), T_WEIGHT_BYTES, layers, terms);
        // attention over the KV cache
        double attn = 0;
        if (b.decodes > 0) {
            attn += op(b.decodeContext * headsPerDevice * decodePerPair, peak16, eff.attentionPrefill(), T_ATTN_FLOPS,
                    b.decodeContext * kvPerTokenLayer, bw, eff.attentionDecode(), T_KV_BYTES, layers, terms);
        }
        if (b.prefillChunks > 0) {
            attn += op(b.prefillPairs * headsPerDevice * prefillPerPair, peak16, eff.attentionPrefill(), T_ATTN_FLOPS,
                    (b.prefillContext + b.prefillTokens) * kvPerTokenLayer, bw, eff.attentionDecode(), T_KV_BYTES,
                    layers, terms);
        }
        // feed-forward
        double denseFfn = 0;
        if (nd > 0) {
            denseFfn = op(2 * tokens * denseFfnParams, peak, eff.gemmCompute(), T_GEMM_FLOPS,
                    denseFfnParams * wb + tokens * (2.0 * m.intermediate() / tp + hidden) * 2, bw, eff.weightStream(),
                    T_WEIGHT_BYTES, nd, terms);
        }
        double moeFfn = 0;
        if (nm > 0) {
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
            moeFfn = op(flops, peak, eff.gemmCompute(), T_GEMM_FLOPS, bytes, bw, eff.weightStream(), T_WEIGHT_BYTES,
                    nm, terms);
        }
        // norms, residuals, rotary, activation
        double elemBytes = layers * tokens * elemPerToken;
        double elem = elemBytes / (bw * eff.elementwise());
        if (terms != null) {
            terms[T_ELEMENTWISE] += elemBytes / bw;
        }
        // tensor-parallel collectives
        double comm = 0;
        if (tp > 1) {
            double bytes = tokens * hidden * 2;
            double ar = 2.0 * (tp - 1) / tp * bytes / tpLink + 2.0 * (tp - 1) * alpha;
            double a2a = 0;
            if (l.ep() > 1) {
                a2a = 2 * ((double) (tp - 1) / tp * bytes * m.expertsPerToken() / tpLink + (tp - 1) * alpha);
            }
            comm = nd * 2 * ar + nm * (l.ep() > 1 ? ar + a2a : 2 * ar);
        }
        double head = 0;
        if (s == l.pp() - 1 && b.logits > 0) {
            head = op(2.0 * b.logits * headParams, peak, eff.gemmCompute(), T_GEMM_FLOPS, headParams * wb, bw,
                    eff.weightStream(), T_WEIGHT_BYTES, 1, terms);
            if (tp > 1) {
                comm += (double) (tp - 1) / tp * b.logits * m.vocab() * 4 / tpLink + (tp - 1) * alpha;
            }
        }
        if (terms != null) {
            terms[T_COMM] += comm;
        }
        if (st != null) {
            st[0] += proj;
            st[1] += attn;
            st[2] += denseFfn + moeFfn;
            st[3] += elem;
            st[4] += comm;
            st[5] += head;
        }
        return proj + attn + denseFfn + moeFfn + elem + comm + head + ops * opOverhead;
    }
}
