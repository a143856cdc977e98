package io.tessera.core.shard;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.WeightKernel;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.ExpertWeights;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.MoeWeights;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The weights one worker needs for its {@link ShardSpec}, cut from a model whose tensors are views
 * of a memory-mapped file.
 *
 * <ul>
 *   <li>Q, K, V, FFN gate and up are split by output rows (whole heads, a range of the FFN width):
 *       a row range of a tensor is a contiguous slice of the mapping, so nothing is copied and
 *       only the shard's pages are ever read.</li>
 *   <li>The attention output and FFN down are split by input columns: each row keeps the columns
 *       of this rank's heads (or FFN range). For a block-quantized type the column range must
 *       start and end on block boundaries; then the shard's bytes of each row are copied, blocks
 *       intact, into an off-heap tensor of the same type. When a block straddles the range (e.g.
 *       Q8_0 blocks of 32 over an FFN range of 344), the slice is decoded to an F32 copy instead
 *       — exact, since a decoded value is the same float the full matrix would use, at 4 bytes
 *       per value for that slice.</li>
 *   <li>A mixture-of-experts block is split the same way inside each expert (and the shared
 *       expert): gate and up by rows, down by columns of the expert's width; the router is kept
 *       whole, so every rank routes a token to the same experts.</li>
 *   <li>Under expert parallelism ({@link ExpertPlacement}) a rank keeps every layer whole but
 *       only the experts the placement gives it (the others are never touched, so their pages of
 *       the mapping are never read); the router and the shared expert stay whole.</li>
 *   <li>The token embedding is kept on the first stage, the final norm and output head on the
 *       last stage's rank 0 only (the head is replicated, not vocabulary-parallel: rank 0 alone
 *       computes the logits rows, so no gather of logits is needed).</li>
 *   <li>Matrices are then put in the layout their kernels run fastest on
 *       ({@link WeightKernel#repackForKernels}, which names the types that have such a layout):
 *       a matrix of such a type whose rows, or column slice, are whole 256-value chunks is
 *       repacked (same size; its mapped pages are released), column slices directly from the
 *       mapping; every other matrix keeps the file's layout.</li>
 * </ul>
 *
 * Closing the shard frees the column copies and closes the model; repacked matrices are freed
 * once unreachable.
 */
public final class ModelShard implements AutoCloseable {

    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Model model;
    private final ShardSpec spec;
    private final List<DecoderLayer> layers;
    private final Tensor output;
    /** Holds column slices (and their repacked forms); null for a whole-model shard. */
    private final Arena arena;
    private long copiedBytes;
    private long f32FallbackTensors;

    private ModelShard(Model model, ShardSpec spec, ExpertPlacement placement, int epRank) {
        this.model = model;
        this.spec = spec;
        // Only column slices of a tensor-parallel rank are copied into it.
        this.arena = spec.tpSize() == 1 ? null : Arena.ofShared();
        ModelConfig cfg = model.config();
        spec.check(cfg);
        int hd = cfg.headDim();
        int qFrom = spec.headFrom(cfg) * hd;
        int qLen = spec.headsPerRank(cfg) * hd;
        int kvFrom = spec.kvHeadFrom(cfg) * hd;
        int kvLen = spec.kvHeadsPerRank(cfg) * hd;
        int hFrom = spec.hiddenFrom(cfg);
        int hLen = spec.hiddenCount(cfg);
        List<DecoderLayer> out = new ArrayList<>();
        try {
            for (int l = spec.layerFrom(); l < spec.layerTo(); l++) {
                DecoderLayer w = model.layers().get(l);
                if (spec.tpSize() > 1) {
                    AttentionWeights a = w.attention();
                    // per-head Q/K norm weights are one head wide, post-block norms act on the
                    // all-reduced output: every rank keeps them whole
                    w = new DecoderLayer(
                            new AttentionWeights(a.norm(), rows(a.wq(), qFrom, qLen), rows(a.wk(), kvFrom, kvLen),
                                    rows(a.wv(), kvFrom, kvLen), columns(a.wo(), qFrom, qLen),
                                    slice(a.bq(), qFrom, qLen), slice(a.bk(), kvFrom, kvLen),
                                    slice(a.bv(), kvFrom, kvLen), a.qNorm(), a.kNorm(), a.postNorm()),
                            w.feedForward() == null ? null : feedForwardSlice(w.feedForward(), hFrom, hLen),
                            w.moe() == null ? null : expertSlices(w.moe()));
                }
                if (placement != null && w.moe() != null) {
                    w = new DecoderLayer(w.attention(), heldExperts(w.moe(), placement, l, epRank));
                }
                out.add(w.mapMatrices(this::repack));
            }
            this.output = computesLogits() ? repack(model.output()) : model.output();
        } catch (RuntimeException e) {
            if (arena != null) {
                arena.close();
            }
            throw e;
        }
        this.layers = List.copyOf(out);
    }

    /** Cuts the shard out of {@code model}; the shard then owns the model. */
    public static ModelShard of(Model model, ShardSpec spec) {
        return new ModelShard(model, spec, null, 0);
    }

    /**
     * The shard of expert-parallel rank {@code epRank}: the layers of {@code spec} (which must not
     * be tensor-parallel) with only the experts {@code placement} gives this rank; the shard then
     * owns the model.
     */
    public static ModelShard ofExperts(Model model, ShardSpec spec, ExpertPlacement placement, int epRank) {
        if (spec.tpSize() != 1) {
            throw new IllegalArgumentException("expert parallelism with tensor parallelism is not supported: "
                    + "use --ep with --tp 1");
        }
        if (!model.config().moe().enabled()) {
            throw new IllegalArgumentException("expert parallelism needs a model with experts; "
                    + model.config().architecture() + " has none");
        }
        if (placement.experts() != model.config().moe().experts() || placement.layers() != model.config().layers()) {
            throw new IllegalArgumentException("the expert placement is for " + placement.layers() + " layers of "
                    + placement.experts() + " experts, the model has " + model.config().layers() + " of "
                    + model.config().moe().experts());
        }
        return new ModelShard(model, spec, placement, epRank);
    }

    private static MoeWeights heldExperts(MoeWeights m, ExpertPlacement placement, int layer, int rank) {
        List<ExpertWeights> experts = new ArrayList<>(m.experts().size());
        for (int e = 0; e < m.experts().size(); e++) {
            experts.add(placement.holds(layer, e, rank) ? m.experts().get(e) : null);
        }
        return new MoeWeights(m.norm(), m.router(), experts, m.shared(), m.sharedGate(), m.postNorm());
    }

    public ModelConfig config() {
        return model.config();
    }

    public ShardSpec spec() {
        return spec;
    }

    /** This shard's layers, index 0 being layer {@code spec.layerFrom()}. */
    public List<DecoderLayer> layers() {
        return layers;
    }

    public Model model() {
        return model;
    }

    /** Whether this rank computes logits: the last stage's rank 0. */
    public boolean computesLogits() {
        return spec.lastStage() && spec.tpRank() == 0;
    }

    /**
     * The output head (vocabulary × dim) as this shard computes with it; the model's own only on
     * shards that do not compute logits.
     */
    public Tensor output() {
        return output;
    }

    /**
     * A matrix in its kernels' layout. The copy lives in an automatic arena, freed once unreachable:
     * a whole-model shard is often dropped with its {@code DecoderForward} rather than closed.
     */
    private Tensor repack(Tensor t) {
        return WeightKernel.repackForKernels(t, Arena.ofAuto());
    }

    /** Bytes copied off the mapping for column slices. */
    public long copiedBytes() {
        return copiedBytes;
    }

    /** Column slices stored as F32 because the type's blocks do not divide the slice. */
    public long f32FallbackTensors() {
        return f32FallbackTensors;
    }

    /** Bytes of weights this shard reads per step (its matrices, plus embedding rows and the head if it has them). */
    public long weightBytes() {
        long b = 0;
        for (DecoderLayer w : layers) {
            for (Tensor t : w.matrices()) {
                b += t.type().bytesFor(t.elementCount());
            }
        }
        if (computesLogits()) {
            b += output.type().bytesFor(output.elementCount());
        }
        return b;
    }

    private FeedForwardWeights feedForwardSlice(FeedForwardWeights f, int from, int count) {
        return new FeedForwardWeights(f.norm(), rows(f.gate(), from, count), rows(f.up(), from, count),
                columns(f.down(), from, count), f.postNorm());
    }

    /**
     * A mixture-of-experts block on this rank: each expert (and the shared expert) split as a dense
     * block is, over its own width; the router and the shared expert's gate whole, so every rank
     * routes each token the same way and its partial sums add up to the whole block's output.
     */
    private MoeWeights expertSlices(MoeWeights m) {
        MoeOptions o = model.config().moe();
        int from = spec.rangeFrom(o.expertHiddenDim());
        int count = spec.rangeCount(o.expertHiddenDim());
        List<ExpertWeights> experts = new ArrayList<>(m.experts().size());
        for (ExpertWeights e : m.experts()) {
            experts.add(expertSlice(e, from, count));
        }
        ExpertWeights shared = m.shared() == null ? null : expertSlice(m.shared(),
                spec.rangeFrom(o.sharedHiddenDim()), spec.rangeCount(o.sharedHiddenDim()));
        return new MoeWeights(m.norm(), m.router(), experts, shared, m.sharedGate(), m.postNorm());
    }

    private ExpertWeights expertSlice(ExpertWeights e, int from, int count) {
        return new ExpertWeights(rows(e.gate(), from, count), rows(e.up(), from, count), columns(e.down(), from, count));
    }

    /** Rows {@code [from, from+count)} of a matrix: a slice of the same bytes. */
    public static Tensor rows(Tensor t, int from, int count) {
        return t.rowSlice(t.name() + "[rows " + from + "+" + count + "]", from, count);
    }

    /** Columns {@code [from, from+count)} of every row, copied off the mapping (see the class comment). */
    Tensor columns(Tensor t, int from, int count) {
        if (t.layout() != Tensor.Layout.GGML) {
            throw new IllegalArgumentException("columns of " + t + ": only tensors in the file's layout can be cut");
        }
        GgmlType type = t.type();
        int rowsN = Math.toIntExact(t.rowCount());
        String name = t.name() + "[cols " + from + "+" + count + "]";
        long srcRow = t.rowBytes();
        Tensor packed = WeightKernel.repackColumns(t, from, count, name, arena);
        if (packed != null) {
            copiedBytes += packed.data().byteSize();
            return packed;
        }
        if (from % type.blockSize() == 0 && count % type.blockSize() == 0) {
            long off = type.bytesFor(from);
            long len = type.bytesFor(count);
            MemorySegment seg = arena.allocate(len * rowsN, 64);
            for (int r = 0; r < rowsN; r++) {
                MemorySegment.copy(t.data(), r * srcRow + off, seg, r * len, len);
            }
            copiedBytes += seg.byteSize();
            // a W8A8 column slice keeps every row's scale (its tokens are rounded over the slice alone)
            return new Tensor(name, type, new long[] {count, rowsN}, seg, Tensor.Layout.GGML, t.rowScales());
        }
        MemorySegment seg = arena.allocate(4L * count * rowsN, 64);
        float[] row = new float[t.rowLength()];
        for (int r = 0; r < rowsN; r++) {
            MatMul.row(t, r, row, 0);
            MemorySegment.copy(row, from, seg, F32_LE, 4L * r * count, count);
        }
        copiedBytes += seg.byteSize();
        f32FallbackTensors++;
        return new Tensor(name, GgmlType.F32, new long[] {count, rowsN}, seg);
    }

    private static float[] slice(float[] v, int from, int count) {
        return v == null ? null : Arrays.copyOfRange(v, from, from + count);
    }

    @Override
    public void close() {
        try {
            if (arena != null) {
                arena.close();
            }
        } finally {
            model.close();
        }
    }
}
