package io.tessera.core.forward;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.Rope;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.LayerWeights;
import io.tessera.core.model.LlamaConfig;
import io.tessera.core.model.LlamaModel;
import io.tessera.core.shard.Collectives;
import io.tessera.core.shard.ModelShard;
import io.tessera.core.shard.ShardSpec;
import io.tessera.core.tensor.Tensor;
import java.util.Arrays;

/**
 * The Llama forward pass over a {@link ForwardBatch}: every token of the batch goes through every
 * layer together (so each weight matrix is read once per step), keys and values are written to the
 * {@link KvCache} slots of their sequence, and each token attends causally to its own sequence's
 * cached positions. Returns logits only for the tokens the batch asks for.
 *
 * <p>It runs one {@link ModelShard}: the whole model in one process, or a pipeline stage's layer
 * range and, within it, one tensor-parallel rank's heads and FFN columns (Megatron style), with the
 * two all-reduces per layer done through {@link Collectives}.
 *
 * <pre>
 *   x = embed(tokens)                      (first stage)   or   x = activations from the previous stage
 *   per local layer:
 *     h = rmsnorm(x)                                       (replicated on every rank)
 *     q,k,v = h·Wq, h·Wk, h·Wv (this rank's rows, + biases for Qwen2); rope; cache(k,v) of this rank's KV heads
 *     p = attention(q, cache) · Wo (this rank's columns);  allReduce(p);  x += p
 *     h = rmsnorm(x); g = silu(h·Wgate) ⊙ h·Wup (this rank's rows)
 *     p = g · Wdown (this rank's columns);  allReduce(p);  x += p
 *   logits = rmsnorm(x[wanted]) · Wout     (last stage, rank 0)   else x goes to the next stage
 * </pre>
 *
 * With several ranks the attention-output and down projections are sums of per-rank partial dot
 * products, so logits differ from one process in the last bits.
 */
public final class LlamaForward {

    /** Most batch tokens of one sequence in an attention unit (see {@link #attention}). */
    private static final int ATTENTION_TOKENS = 8;
    /** Most scores an attention unit holds: 4 MB of floats. */
    private static final int ATTENTION_SCORES = 1 << 20;
    private static final ThreadLocal<AttentionScratch> ATTENTION_SCRATCH = ThreadLocal.withInitial(AttentionScratch::new);

    private final ModelShard shard;
    private final LlamaConfig cfg;
    private final ShardSpec spec;
    private final Parallel parallel;
    private final Collectives collectives;
    private final Rope rope;
    private final int heads;
    private final int kvHeads;
    private final int headFrom;
    private final int kvHeadFrom;
    private final int hidden;
    private long collectiveNanos;
    /**
     * The step's intermediate activations, kept from step to step (per calling thread) and grown to
     * the largest batch seen: allocating them anew each step made the garbage collector grow the
     * young generation to hundreds of MB, which showed up as resident memory.
     */
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** The whole model in this process. */
    public LlamaForward(LlamaModel model, Parallel parallel) {
        this(ModelShard.of(model, ShardSpec.whole(model.config())), parallel, Collectives.NONE);
    }

    /** One shard of the model, talking to the other ranks of its stage through {@code collectives}. */
    public LlamaForward(ModelShard shard, Parallel parallel, Collectives collectives) {
        this.shard = shard;
        this.cfg = shard.config();
        this.spec = shard.spec();
        this.parallel = parallel;
        this.collectives = collectives;
        this.rope = new Rope(cfg.headDim(), cfg.ropeTheta(), cfg.ropeStyle());
        this.heads = spec.headsPerRank(cfg);
        this.kvHeads = spec.kvHeadsPerRank(cfg);
        this.headFrom = spec.headFrom(cfg);
        this.kvHeadFrom = spec.kvHeadFrom(cfg);
        this.hidden = spec.hiddenCount(cfg);
    }

    public LlamaModel model() {
        return shard.model();
    }

    /**
     * Runs one step of a single-stage forward pass (the whole model, or one tensor-parallel rank of
     * it). Returns {@code batch.logitCount()} rows of {@code vocabSize} logits, in the order of
     * {@link ForwardBatch#logitTokens()}; null on a rank other than 0.
     */
    public float[] forward(ForwardBatch batch, KvCache cache) {
        if (!spec.firstStage() || !spec.lastStage()) {
            throw new IllegalStateException("a pipeline stage needs its input activations: use forward(batch, cache, input)");
        }
        return forward(batch, cache, null);
    }

    /** Values per token this rank's KV cache holds: its KV heads × headDim. */
    public int kvDim() {
        return kvHeads * cfg.headDim();
    }

    /** Layers this rank's KV cache holds. */
    public int layers() {
        return spec.layerCount();
    }

    /** Nanoseconds spent inside collectives so far. */
    public long collectiveNanos() {
        return collectiveNanos;
    }

    /**
     * Runs this shard's part of one step.
     *
     * @param input the activations from the previous stage, {@code batch.size() × dim} floats; null
     *     on the first stage
     * @return on the last stage's rank 0, {@code batch.logitCount()} rows of vocabSize logits; on
     *     the last stage's other ranks, null; on other stages, the activations for the next stage
     */
    public float[] forward(ForwardBatch batch, KvCache cache, float[] input) {
        int n = batch.size();
        int dim = cfg.dim();
        int hd = cfg.headDim();
        int qDim = heads * hd;
        int kvDim = kvHeads * hd;
        if (cache.kvDim() != kvDim) {
            throw new IllegalArgumentException("KV cache holds " + cache.kvDim() + " values per token, this shard needs "
                    + kvDim);
        }
        float[] x;
        if (spec.firstStage()) {
            x = new float[n * dim];
            for (int t = 0; t < n; t++) {
                int token = batch.token(t);
                if (token < 0 || token >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.."
                            + (cfg.vocabSize() - 1) + ")");
                }
                MatMul.row(shard.model().tokenEmbedding(), token, x, t * dim);
            }
        } else {
            if (input == null || input.length < n * dim) {
                throw new IllegalArgumentException("stage " + spec.stage() + " needs " + n + " × " + dim
                        + " input activations");
            }
            x = input;
        }
        for (int t = 0; t < n; t++) {
            if (batch.position(t) >= cfg.contextLength()) {
                throw new IllegalArgumentException("position " + batch.position(t) + " is past the context length "
                        + cfg.contextLength());
            }
        }
        Scratch sc = scratch.get().ensure(n, dim, qDim, kvDim, hidden);
        float[] h = sc.h;
        float[] q = sc.q;
        float[] k = sc.k;
        float[] v = sc.v;
        float[] att = sc.att;
        float[] proj = sc.proj;
        float[] gate = sc.gate;
        float[] up = sc.up;

        for (int l = 0; l < spec.layerCount(); l++) {
            LayerWeights w = shard.layers().get(l);
            for (int t = 0; t < n; t++) {
                VectorMath.rmsNorm(h, t * dim, x, t * dim, w.attnNorm(), dim, cfg.rmsEps());
            }
            MatMul.matmul(parallel, new Tensor[] {w.wq(), w.wk(), w.wv()}, h, n,
                    new float[][] {q, k, v});
            addBias(q, w.bq(), n);
            addBias(k, w.bk(), n);
            addBias(v, w.bv(), n);
            for (int t = 0; t < n; t++) {
                int pos = batch.position(t);
                rope.apply(q, t * qDim, heads, pos);
                rope.apply(k, t * kvDim, kvHeads, pos);
                cache.store(l, batch.slot(batch.sequence(t), pos, cache.blockSize()), k, t * kvDim, v, t * kvDim);
            }
            attention(l, batch, cache, q, att);
            MatMul.matmul(parallel, w.wo(), att, n, proj);
            allReduce(proj, n * dim);
            VectorMath.add(x, proj, n * dim);

            for (int t = 0; t < n; t++) {
                VectorMath.rmsNorm(h, t * dim, x, t * dim, w.ffnNorm(), dim, cfg.rmsEps());
            }
            MatMul.swiGlu(parallel, w.wGate(), w.wUp(), h, n, gate, up);
            MatMul.matmul(parallel, w.wDown(), gate, n, proj);
            allReduce(proj, n * dim);
            VectorMath.add(x, proj, n * dim);
        }

        if (!spec.lastStage()) {
            return x;
        }
        if (!shard.computesLogits()) {
            return null;
        }
        int[] wanted = batch.logitTokens();
        int rows = wanted.length;
        float[] selected = new float[rows * dim];
        for (int i = 0; i < rows; i++) {
            VectorMath.rmsNorm(selected, i * dim, x, wanted[i] * dim, shard.model().finalNorm(), dim, cfg.rmsEps());
        }
        float[] logits = new float[rows * cfg.vocabSize()];
        if (rows > 0) {
            MatMul.matmul(parallel, shard.output(), selected, rows, logits);
        }
        return logits;
    }

    private void allReduce(float[] buf, int length) {
        if (spec.tpSize() == 1) {
            return;
        }
        long t0 = System.nanoTime();
        collectives.allReduceSum(buf, length);
        collectiveNanos += System.nanoTime() - t0;
    }

    private static void addBias(float[] rows, float[] bias, int n) {
        if (bias == null) {
            return;
        }
        for (int t = 0; t < n; t++) {
            VectorMath.axpy(rows, t * bias.length, 1f, bias, 0, bias.length);
        }
    }

    /**
     * Causal attention of every (token, local head) pair over its sequence's cached positions 0..pos.
     * The work is split into units of one local KV head and a run of up to {@value #ATTENTION_TOKENS}
     * consecutive batch tokens of one sequence: each cached key and value is widened to floats once
     * per unit and used by all of the unit's tokens and query heads (grouped-query attention shares
     * one KV head among {@code groupSize} query heads), instead of once per (token, head). Each
     * (token, head) still takes the same operations in the same order, whatever its unit.
     */
    private void attention(int layer, ForwardBatch batch, KvCache cache, float[] q, float[] out) {
        int headDim = cfg.headDim();
        int group = cfg.groupSize();
        int qDim = heads * headDim;
        int blockSize = cache.blockSize();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        int maxPos = 0;
        for (int t = 0; t < batch.size(); t++) {
            maxPos = Math.max(maxPos, batch.position(t));
        }
        // fewer tokens per unit when contexts are long, so a unit's scores stay within a few MB
        int runLength = Math.max(1, Math.min(ATTENTION_TOKENS, ATTENTION_SCORES / (group * (maxPos + 1))));
        int[] runs = sequenceRuns(batch, runLength);
        int units = (runs.length - 1) * kvHeads;
        parallel.forRange(units, 1, (from, to) -> {
            AttentionScratch scratch = ATTENTION_SCRATCH.get();
            float[] row = scratch.row(headDim);
            for (int u = from; u < to; u++) {
                int first = runs[u / kvHeads];
                int end = runs[u / kvHeads + 1];
                int kv = u % kvHeads;
                int kvOff = kv * headDim;
                // the local query heads that read this KV head
                int hFrom = Math.max(0, (kvHeadFrom + kv) * group - headFrom);
                int hTo = Math.min(heads, (kvHeadFrom + kv + 1) * group - headFrom);
                int nh = hTo - hFrom;
                int seq = batch.sequence(first);
                int len = 0;
                for (int t = first; t < end; t++) {
                    len = Math.max(len, batch.position(t) + 1);
                }
                float[] scores = scratch.scores((end - first) * nh * len);
                for (int j = 0; j < len; j++) {
                    cache.readKey(layer, batch.slot(seq, j, blockSize), kvOff, row, 0, headDim);
                    for (int t = first; t < end; t++) {
                        if (batch.position(t) < j) {
                            continue;
                        }
                        for (int h = 0; h < nh; h++) {
                            int qOff = t * qDim + (hFrom + h) * headDim;
                            scores[((t - first) * nh + h) * len + j] = VectorMath.dot(row, 0, q, qOff, headDim) * scale;
                        }
                    }
                }
                for (int t = first; t < end; t++) {
                    for (int h = 0; h < nh; h++) {
                        VectorMath.softmax(scores, ((t - first) * nh + h) * len, batch.position(t) + 1);
                        int qOff = t * qDim + (hFrom + h) * headDim;
                        Arrays.fill(out, qOff, qOff + headDim, 0f);
                    }
                }
                for (int j = 0; j < len; j++) {
                    cache.readValue(layer, batch.slot(seq, j, blockSize), kvOff, row, 0, headDim);
                    for (int t = first; t < end; t++) {
                        if (batch.position(t) < j) {
                            continue;
                        }
                        for (int h = 0; h < nh; h++) {
                            int qOff = t * qDim + (hFrom + h) * headDim;
                            VectorMath.axpy(out, qOff, scores[((t - first) * nh + h) * len + j], row, 0, headDim);
                        }
                    }
                }
            }
        });
    }

    /**
     * Where each run of consecutive batch tokens of one sequence, at most {@code maxRun} long,
     * begins, followed by the batch size.
     */
    private static int[] sequenceRuns(ForwardBatch batch, int maxRun) {
        int[] starts = new int[batch.size() + 1];
        int n = 0;
        for (int t = 0; t < batch.size(); t++) {
            if (t == 0 || batch.sequence(t) != batch.sequence(t - 1) || t - starts[n - 1] == maxRun) {
                starts[n++] = t;
            }
        }
        starts[n++] = batch.size();
        return Arrays.copyOf(starts, n);
    }

    /** A thread's attention buffers, grown on demand: one widened key or value row, and a unit's scores. */
    private static final class AttentionScratch {
        private float[] row = new float[0];
        private float[] scores = new float[0];

        float[] row(int n) {
            if (row.length < n) {
                row = new float[n];
            }
            return row;
        }

        float[] scores(int n) {
            if (scores.length < n) {
                scores = new float[n];
            }
            return scores;
        }
    }

    /** Every array is at least as long as the step needs; the forward pass writes before it reads. */
    private static final class Scratch {
        float[] h = new float[0];
        float[] q = h;
        float[] k = h;
        float[] v = h;
        float[] att = h;
        float[] proj = h;
        float[] gate = h;
        float[] up = h;

        Scratch ensure(int n, int dim, int qDim, int kvDim, int hidden) {
            if (h.length < n * dim || q.length < n * qDim || k.length < n * kvDim || gate.length < n * hidden) {
                h = new float[n * dim];
                q = new float[n * qDim];
                k = new float[n * kvDim];
                v = new float[n * kvDim];
                att = new float[n * qDim];
                proj = new float[n * dim];
                gate = new float[n * hidden];
                up = new float[n * hidden];
            }
            return this;
        }
    }
}
