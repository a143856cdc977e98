package io.tessera.core.forward;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.shard.Collectives;
import io.tessera.core.shard.ModelShard;
import io.tessera.core.shard.ShardSpec;

/**
 * The forward pass of a decoder-only model of any family over a {@link ForwardBatch}, assembled
 * from the shared blocks its {@link ModelConfig} selects ({@link AttentionBlock},
 * {@link FeedForwardBlock}): every token of the batch goes through every layer together (so each
 * weight matrix is read once per step), keys and values are written to the {@link KvCache} slots
 * of their sequence, and each token attends causally to its own sequence's cached positions.
 * Returns logits only for the tokens the batch asks for.
 *
 * <p>It runs one {@link ModelShard}: the whole model in one process, or a pipeline stage's layer
 * range and, within it, one tensor-parallel rank's heads and FFN columns (Megatron style), with the
 * two all-reduces per layer done through {@link Collectives}.
 *
 * <pre>
 *   x = embed(tokens)                      (first stage)   or   x = activations from the previous stage
 *   (x *= embedding scale: Gemma)
 *   per local layer:
 *     p = attention block(x) (this rank's heads, see AttentionBlock);  allReduce(p);  (p = rmsnorm(p));  x += p
 *     p = feed-forward block(x) (this rank's FFN columns,
 *         or the mixture of experts: see MoeFeedForwardBlock);        allReduce(p);  (p = rmsnorm(p));  x += p
 *   logits = rmsnorm(x[wanted]) · Wout     (last stage, rank 0)   else x goes to the next stage
 * </pre>
 *
 * The norms in brackets are the post-block norms of families that have them (Gemma); they act on
 * the whole block output, so they follow the all-reduce.
 *
 * <p>With several ranks the attention-output and down projections are sums of per-rank partial dot
 * products, so logits differ from one process in the last bits.
 */
public final class DecoderForward {

    private final ModelShard shard;
    private final ModelConfig cfg;
    private final ShardSpec spec;
    private final Parallel parallel;
    private final Collectives collectives;
    private final AttentionBlock attention;
    private final FeedForwardBlock feedForward;
    /** The mixture-of-experts block of a model with experts, else null. */
    private final MoeFeedForwardBlock moe;
    private final int heads;
    private final int kvHeads;
    private final int hidden;
    private long collectiveNanos;
    private final ThreadLocal<StepBuffers> buffers = ThreadLocal.withInitial(StepBuffers::new);

    /** The whole model in this process. */
    public DecoderForward(Model model, Parallel parallel) {
        this(ModelShard.of(model, ShardSpec.whole(model.config())), parallel, Collectives.NONE);
    }

    /** One shard of the model, talking to the other ranks of its stage through {@code collectives}. */
    public DecoderForward(ModelShard shard, Parallel parallel, Collectives collectives) {
        this.shard = shard;
        this.cfg = shard.config();
        this.spec = shard.spec();
        this.parallel = parallel;
        this.collectives = collectives;
        this.heads = spec.headsPerRank(cfg);
        this.kvHeads = spec.kvHeadsPerRank(cfg);
        this.hidden = spec.hiddenCount(cfg);
        this.attention = new AttentionBlock(cfg, shard.model().rotaryFactors(), parallel, heads, spec.headFrom(cfg),
                kvHeads, spec.kvHeadFrom(cfg));
        this.feedForward = new FeedForwardBlock(cfg, parallel);
        this.moe = cfg.moe().enabled() ? new MoeFeedForwardBlock(cfg, parallel) : null;
    }

    public Model model() {
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

    /** KV heads this rank's KV cache holds. */
    public int kvHeads() {
        return kvHeads;
    }

    /** Values per head. */
    public int headDim() {
        return cfg.headDim();
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
        return forward(batch, cache, input, null);
    }

    /**
     * Runs this shard's part of one step and, on the last stage, writes the final hidden state of
     * each of the batch's {@link ForwardBatch#hiddenTokens() hidden tokens} into {@code hiddenOut}:
     * row i (dim floats) for the i-th, after the final norm and before the output head, the vector
     * llama.cpp's embeddings pool. Otherwise as {@link #forward(ForwardBatch, KvCache, float[])}.
     *
     * @param hiddenOut at least {@code batch.hiddenCount() × dim} floats; null when none are wanted
     */
    public float[] forward(ForwardBatch batch, KvCache cache, float[] input, float[] hiddenOut) {
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
            if (cfg.embeddingScale() > 0) {
                VectorMath.scale(x, 0, n * dim, cfg.embeddingScale());
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
        StepBuffers b = buffers.get().ensure(n, dim, qDim, kvDim, hidden);
        for (int l = 0; l < spec.layerCount(); l++) {
            DecoderLayer layer = shard.layers().get(l);
            attention.run(l, spec.layerFrom() + l, layer.attention(), batch, cache, x, b);
            allReduce(b.proj, n * dim);
            normalizeRows(b.proj, n, layer.attention().postNorm());
            VectorMath.add(x, b.proj, n * dim);
            if (layer.moe() != null) {
                moe.run(layer.moe(), x, n, b);
            } else {
                feedForward.run(layer.feedForward(), x, n, b);
            }
            allReduce(b.proj, n * dim);
            normalizeRows(b.proj, n, layer.feedForwardPostNorm());
            VectorMath.add(x, b.proj, n * dim);
        }

        if (!spec.lastStage()) {
            return x;
        }
        if (hiddenOut != null) {
            int[] wantedHidden = batch.hiddenTokens();
            for (int i = 0; i < wantedHidden.length; i++) {
                VectorMath.rmsNorm(hiddenOut, i * dim, x, wantedHidden[i] * dim, shard.model().finalNorm(), dim,
                        cfg.rmsEps());
            }
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
        if (cfg.finalLogitSoftcap() > 0) {
            VectorMath.softcap(logits, 0, logits.length, cfg.finalLogitSoftcap());
        }
        return logits;
    }

    /** RMSNorm of each of the {@code n} token rows of a block's output, in place; nothing without a weight. */
    private void normalizeRows(float[] rows, int n, float[] weight) {
        if (weight == null) {
            return;
        }
        int dim = cfg.dim();
        for (int t = 0; t < n; t++) {
            VectorMath.rmsNorm(rows, t * dim, rows, t * dim, weight, dim, cfg.rmsEps());
        }
    }

    private void allReduce(float[] buf, int length) {
        if (spec.tpSize() == 1) {
            return;
        }
        long t0 = System.nanoTime();
        collectives.allReduceSum(buf, length);
        collectiveNanos += System.nanoTime() - t0;
    }
}
