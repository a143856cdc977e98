package io.tessera.planner.memory;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-device memory for a model, precision and layout: weights, KV cache per token, activations and
 * workspace, and (given an accelerator) the KV capacity left and whether the layout fits.
 *
 * <p>Rules. Every parameter, embedding and output head included, is stored at the precision's
 * bytes per parameter. Tensor parallelism splits attention and FFN matrices and the vocabulary of
 * the embedding and head; norms and MLA's down projections are replicated. Pipeline stages take
 * contiguous layer ranges (earlier stages take the extra layer when the count does not divide);
 * the first stage holds the embedding, the last the head (and, when tied and pp > 1, its own copy of
 * the embedding). KV heads are split over TP ranks, replicated when TP exceeds them; MLA's latent is
 * replicated on every TP rank. A model given only by parameter count spreads them evenly.
 *
 * <p>Experts. Without expert parallelism TP splits every expert by its width, as a dense FFN. With
 * {@code ep > 1} each device holds {@code experts / ep} whole routed experts of each MoE layer, the
 * router whole, and shared experts split over its attention group's TP ranks; attention groups
 * ({@link Layout#attentionGroups()}) each keep the KV cache of their own sequences, so a replica
 * holds the groups' KV capacity together while one sequence must fit in one group.
 */
public final class MemoryModel {

    /** Engine limits that size activations: tokens per step and sequences per step. */
    public record Limits(int maxBatchedTokens, int maxSeqs) {
        public static final Limits DEFAULT = new Limits(2048, 256);
    }

    /**
     * One pipeline stage's device (every TP and EP rank of a stage holds the same).
     *
     * @param routedExperts routed experts of each MoE layer on this device (0 for a dense model;
     *     all of them, split by width, without expert parallelism)
     * @param expertWeightsBytes the routed experts' share of {@code weightsBytes}
     * @param kvTokens KV tokens this device (its attention group) holds
     */
    public record Device(int stage, int firstLayer, int lastLayerExclusive, double weightsBytes,
                         int routedExperts, double expertWeightsBytes,
                         double kvBytesPerToken, double activationBytes, double usableBytes, double kvCapacityBytes,
                         long kvTokens, double shortfallBytes) {
        public boolean fits() {
            return shortfallBytes <= 0;
        }
    }

    /** The whole answer. */
    public record Report(ModelSpec model, Precision precision, Precision kvPrecision, Layout layout,
                         Accelerator accelerator, int seqLen, double weightsBytes, double kvBytesPerToken,
                         List<Device> devices) {

        public boolean fits() {
            return devices.stream().allMatch(Device::fits);
        }

        /** The largest shortfall over stages, bytes (0 when it fits). */
        public double shortfallBytes() {
            return devices.stream().mapToDouble(Device::shortfallBytes).max().orElse(0);
        }

        /** Tokens of KV cache one attention group holds: the least over stages. */
        public long groupKvTokens() {
            return devices.stream().mapToLong(Device::kvTokens).min().orElse(0);
        }

        /** Tokens of KV cache one replica holds: its attention groups' together. */
        public long kvTokens() {
            return groupKvTokens() * layout.attentionGroups();
        }

        /** Concurrent sequences of {@link #seqLen} tokens that fit in one replica (a sequence stays in one group). */
        public long concurrentSequences() {
            return seqLen <= 0 ? 0 : groupKvTokens() / seqLen * layout.attentionGroups();
        }

        public Device worst() {
            Device w = devices.getFirst();
            for (Device d : devices) {
                if (d.weightsBytes + d.activationBytes > w.weightsBytes + w.activationBytes) {
                    w = d;
                }
            }
            return w;
        }
    }

    private MemoryModel() {
    }

    /** Total weight bytes of the model at this precision. */
    public static double weightsBytes(ModelSpec m, Precision p) {
        return m.totalParams() * p.bytesPerParam();
    }

    /** KV cache bytes per token of the whole model (all layers, no parallelism). */
    public static double kvBytesPerToken(ModelSpec m, Precision kv) {
        return (double) m.layers() * m.kvValuesPerTokenPerLayer() * kv.bytesPerParam();
    }

    /** First layer of stage {@code s} of {@code pp}. */
    public static int stageStart(int layers, int pp, int s) {
        int base = layers / pp;
        int extra = layers % pp;
        return s * base + Math.min(s, extra);
    }

    /** Routed experts of one MoE layer a device holds whole with expert parallelism (all of them, split by width, without). */
    public static int routedExpertsPerDevice(ModelSpec m, Layout l) {
        return l.ep() > 1 ? m.experts() / l.ep() : m.experts();
    }

    /** Routed-expert parameters one device of stage {@code stage} holds. */
    public static double deviceExpertParams(ModelSpec m, Layout l, int stage) {
        if (m.paramOverride() > 0 || !m.isMoe()) {
            return 0;
        }
        double perLayer = l.ep() > 1 ? (double) routedExpertsPerDevice(m, l) * m.expertParams()
                : (double) m.experts() * m.expertParams() / l.tp();
        int moe = 0;
        for (int layer = stageStart(m.layers(), l.pp(), stage); layer < stageStart(m.layers(), l.pp(), stage + 1); layer++) {
            moe += m.isMoeLayer(layer) ? 1 : 0;
        }
        return moe * perLayer;
    }

    /** Parameters one device of stage {@code stage} holds. */
    public static double deviceParams(ModelSpec m, Layout l, int stage) {
        int tp = l.tp();
        int pp = l.pp();
        if (m.paramOverride() > 0) {
            return (double) m.paramOverride() / (tp * pp);
        }
        int from = stageStart(m.layers(), pp, stage);
        int to = stageStart(m.layers(), pp, stage + 1);
        double n = deviceExpertParams(m, l, stage);
        for (int layer = from; layer < to; layer++) {
            n += (double) m.attentionSplitParams() / tp + m.attentionReplicatedParams() + m.layerNormParams();
            if (m.isMoeLayer(layer)) {
                n += (double) m.sharedExperts() * m.expertParams() / tp + m.routerParams();
            } else {
                n += (double) m.denseFfnParams() / tp;
            }
        }
        if (stage == 0) {
            n += (double) m.embeddingParams() / tp;
        }
        if (stage == pp - 1) {
            n += m.hidden();
            n += (double) (m.tiedEmbeddings() ? (pp > 1 ? m.embeddingParams() : 0) : m.headParams()) / tp;
        }
        return n;
    }

    /** KV values (not bytes) per token one device of this stage keeps. */
    public static double deviceKvValuesPerToken(ModelSpec m, Layout l, int stage) {
        int layers = stageStart(m.layers(), l.pp(), stage + 1) - stageStart(m.layers(), l.pp(), stage);
        double perLayer;
        if (m.isMla()) {
            perLayer = m.kvValuesPerTokenPerLayer();
        } else {
            int kvPerDevice = Math.max(1, m.kvHeads() / l.tp());
            perLayer = 2.0 * kvPerDevice * m.headDim();
        }
        return layers * perLayer;
    }

    /** Activation and workspace bytes of one device for a step of {@code limits} tokens (16-bit activations). */
    public static double activationBytes(ModelSpec m, Layout l, int stage, Limits limits) {
        int tp = l.tp();
        double t = limits.maxBatchedTokens();
        double qkv = (double) (m.heads() + 2 * m.kvHeads()) * m.qkHeadDim() / tp;
        double ffn = m.isMoe() ? Math.max((double) m.intermediate(), (double) m.moeIntermediate() * m.expertsPerToken())
                : m.intermediate();
        double perToken = 4.0 * m.hidden() + qkv + 2.0 * ffn / tp;
        double bytes = t * perToken * 2;
        if (stage == l.pp() - 1) {
            bytes += (double) limits.maxSeqs() * m.vocab() / tp * 4;
        }
        return bytes;
    }

    /**
     * The report for a layout. With an accelerator, each device's usable memory is its capacity
     * times the engine's memory utilization; a layout fits when weights, activations and the KV
     * cache of one {@code seqLen}-token sequence fit in it.
     */
    public static Report report(ModelSpec m, Precision p, Precision kv, Layout l, Accelerator acc, int seqLen,
                                Limits limits) {
        String bad = l.invalidFor(m);
        if (bad != null) {
            throw new IllegalArgumentException("layout " + l.label() + " for " + m.name() + ": " + bad);
        }
        List<Device> devices = new ArrayList<>();
        for (int s = 0; s < l.pp(); s++) {
            double w = deviceParams(m, l, s) * p.bytesPerParam();
            double experts = deviceExpertParams(m, l, s) * p.bytesPerParam();
            double kvTok = deviceKvValuesPerToken(m, l, s) * kv.bytesPerParam();
            double act = activationBytes(m, l, s, limits);
            double usable = 0;
            double cap = 0;
            long tokens = 0;
            double shortfall = 0;
            if (acc != null) {
                usable = acc.memoryBytes() * acc.efficiency().memoryUtilization();
                cap = usable - w - act;
                tokens = cap > 0 ? (long) Math.floor(cap / kvTok) : 0;
                shortfall = w + act + kvTok * seqLen - usable;
            }
            devices.add(new Device(s, stageStart(m.layers(), l.pp(), s), stageStart(m.layers(), l.pp(), s + 1), w,
                    m.isMoe() ? routedExpertsPerDevice(m, l) : 0, experts, kvTok, act, usable, cap, tokens, shortfall));
        }
        return new Report(m, p, kv, l, acc, seqLen, weightsBytes(m, p), kvBytesPerToken(m, kv), List.copyOf(devices));
    }
}
