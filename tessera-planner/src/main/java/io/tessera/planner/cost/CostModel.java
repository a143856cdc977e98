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
 * Tensor parallelism adds two ring all-reduces per layer; pipeline parallelism adds a
 * point-to-point send per stage boundary. With {@code pp} stages, {@code pp} batches are in
 * flight; one batch's step then takes {@code max(sum of stage times + sends, pp x slowest stage)}.
 *
 * <p>Expert parallelism ({@link Layout#ep()} > 1): a MoE layer's routed experts run on the
 * {@code ep} devices owning them, each device computing {@code 1/ep} of all the step's
 * token-expert products (routing assumed balanced) and reading only the experts the step touches
 * among its own. A token reaches its {@code k} experts by an all-to-all: the dispatch sends
 * {@code hidden x 2 bytes x k} per token, the combine the same back, of which {@code (ep - 1)/ep}
 * leaves the device; every device sends its share at once (one latency per all-to-all), within a
 * node over the device link, across nodes bounded by the slower of the network (for the peers on
 * other nodes) and the link. With TP the layer also all-reduces attention over the TP group (a
 * reduce-scatter before the dispatch and an all-gather after the combine). With
 * {@link Layout#attentionGroups()} {@code g > 1}, attention, dense layers, shared experts and the
 * head run in {@code g} groups, each on its own sequences; a step takes as long as its busiest
 * group, which holds {@code ceil(n / g)} of the step's {@code n} sequences ({@link #groupShare}).
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
    private final double intraNodeLink;
    private final double interNodeLink;
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
        this.ppLink = acc.linkBytesPerSecond(l.devicesPerReplica());
        this.intraNodeLink = acc.linkBytesPerSecond(1);
        this.interNodeLink = acc.linkBytesPerSecond(acc.devicesPerNode() + 1);
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
            t[T_COMM] += stageSends(b);
        }
        t[T_STEP] = 1;
        return t;
    }

    /** Bytes of one activation value sent between devices (bf16). */
    static final double ACTIVATION_BYTES = 2;

    /**
     * The share of a step's sequences (and so of its tokens, attention work and logits) that its
     * busiest attention group computes: {@code ceil(n / g) / n} for {@code n} sequences over
     * {@code g} groups, 1 without data-parallel attention. Sequences are taken as equal in size.
     */
    public double groupShare(Batch b) {
        int g = l.attentionGroups();
        long n = b.decodes + b.prefillChunks;
        if (g == 1 || n == 0) {
            return 1;
        }
        return Math.ceil((double) n / g) / n;
    }

    /**
     * Bytes one device sends to other devices in one direction (dispatch, and again in the
     * combine) per MoE layer for a step: its share of the tokens, {@code hidden x 2 bytes x k}
     * each, less the {@code 1/ep} that stays on the device; 0 without expert parallelism.
     */
    public double dispatchBytesPerDevice(Batch b) {
        int ep = l.ep();
        if (ep == 1) {
            return 0;
        }
        return b.tokens * groupShare(b) / l.tp() * m.expertsPerToken() * m.hidden() * ACTIVATION_BYTES * (ep - 1) / ep;
    }

    /** Seconds of one all-to-all in which every device sends {@code remoteBytes} to the other {@code ep - 1}. */
    private double allToAllSeconds(double remoteBytes) {
        int ep = l.ep();
        int node = acc.devicesPerNode();
        if (ep <= node) {
            return remoteBytes / intraNodeLink + alpha;
        }
        // peers on other nodes over the network, those on this node over the link, both at once
        double offNode = remoteBytes * (ep - node) / (ep - 1);
        double onNode = remoteBytes - offNode;
        return Math.max(offNode / interNodeLink, onNode / intraNodeLink) + alpha;
    }

    /** Seconds of the point-to-point sends between pipeline stages: each group sends its own tokens. */
    private double stageSends(Batch b) {
        return (l.pp() - 1) * (b.tokens * groupShare(b) * m.hidden() * ACTIVATION_BYTES / ppLink + alpha);
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
        double sends = stageSends(b);
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
            sends = stageSends(b);
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
        // the busiest attention group's part of the step (all of it without data-parallel attention)
        double share = groupShare(b);
        double tokens = b.tokens * share;
        double hidden = m.hidden();
        // attention projections
        double projAct = tokens * (2 * hidden + qkvOut) * 2;
        double proj = op(2 * tokens * attnParams, peak, eff.gemmCompute(), T_GEMM_FLOPS,
                attnParams * wb + projAct, bw, eff.weightStream(), T_WEIGHT_BYTES, layers, terms);
        // attention over the KV cache
        double attn = 0;
        if (b.decodes > 0) {
            double context = b.decodeContext * share;
            attn += op(context * headsPerDevice * decodePerPair, peak16, eff.attentionPrefill(), T_ATTN_FLOPS,
                    context * kvPerTokenLayer, bw, eff.attentionDecode(), T_KV_BYTES, layers, terms);
        }
        if (b.prefillChunks > 0) {
            attn += op(b.prefillPairs * share * headsPerDevice * prefillPerPair, peak16, eff.attentionPrefill(), T_ATTN_FLOPS,
                    (b.prefillContext + b.prefillTokens) * share * kvPerTokenLayer, bw, eff.attentionDecode(), T_KV_BYTES,
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
            double expert = m.expertParams();
            int ep = l.ep();
            // routed experts see every token of the replica (dispatched to them from all groups)
            double all = b.tokens;
            double touchedFraction = 1 - Math.pow(1 - k / e, all);
            double routedBytes = ep > 1 ? (e / ep) * touchedFraction * expert * wb : e * touchedFraction * expert / tp * wb;
            double routedTokens = ep > 1 ? all * k / ep : tokens * k / tp;
            double shared = (double) m.sharedExperts() * expert / tp;
            double flops = 2 * routedTokens * expert + 2 * tokens * shared + 2 * tokens * m.routerParams();
            double bytes = routedBytes + shared * wb + m.routerParams() * wb
                    + (routedTokens * 2.0 * m.moeIntermediate() + tokens * 2.0 * m.moeIntermediate() * m.sharedExperts() / tp
                    + tokens * hidden) * 2;
            moeFfn = op(flops, peak, eff.gemmCompute(), T_GEMM_FLOPS, bytes, bw, eff.weightStream(), T_WEIGHT_BYTES,
                    nm, terms);
        }
        // norms, residuals, rotary, activation
        double elemBytes = layers * tokens * elemPerToken;
        double elem = elemBytes / (bw * eff.elementwise());
        if (terms != null) {
            terms[T_ELEMENTWISE] += elemBytes / bw;
        }
        // tensor-parallel all-reduces within the attention group, and the experts' all-to-alls
        double ar = tp > 1 ? 2.0 * (tp - 1) / tp * tokens * hidden * ACTIVATION_BYTES / tpLink + 2.0 * (tp - 1) * alpha : 0;
        double comm = nd * 2 * ar;
        if (nm > 0) {
            comm += nm * (l.ep() > 1 ? ar + 2 * allToAllSeconds(dispatchBytesPerDevice(b)) : 2 * ar);
        }
        double head = 0;
        if (s == l.pp() - 1 && b.logits > 0) {
            double logits = b.logits * share;
            head = op(2.0 * logits * headParams, peak, eff.gemmCompute(), T_GEMM_FLOPS, headParams * wb, bw,
                    eff.weightStream(), T_WEIGHT_BYTES, 1, terms);
            if (tp > 1) {
                comm += (double) (tp - 1) / tp * logits * m.vocab() * 4 / tpLink + (tp - 1) * alpha;
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
