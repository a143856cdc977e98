package io.tessera.core.forward;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.Rope;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.LayerWeights;
import io.tessera.core.model.LlamaConfig;
import io.tessera.core.model.LlamaModel;
import io.tessera.core.tensor.Tensor;

/**
 * The Llama forward pass over a {@link ForwardBatch}: every token of the batch goes through every
 * layer together (so each weight matrix is read once per step), keys and values are written to the
 * {@link KvCache} slots of their sequence, and each token attends causally to its own sequence's
 * cached positions. Returns logits only for the tokens the batch asks for.
 *
 * <pre>
 *   x = embed(token)
 *   per layer:  h = rmsnorm(x); q,k,v = h·Wq, h·Wk, h·Wv; rope(q,k); cache(k,v)
 *               x += attention(q, cache) · Wo
 *               h = rmsnorm(x); x += (silu(h·Wgate) * h·Wup) · Wdown
 *   logits = rmsnorm(x) · Wout
 * </pre>
 */
public final class LlamaForward {

    private static final int MIN_HEADS_PER_THREAD = 2;

    private final LlamaModel model;
    private final LlamaConfig cfg;
    private final Parallel parallel;
    private final Rope rope;

    public LlamaForward(LlamaModel model, Parallel parallel) {
        this.model = model;
        this.cfg = model.config();
        this.parallel = parallel;
        this.rope = new Rope(cfg.headDim(), cfg.ropeTheta(), cfg.ropeStyle());
    }

    public LlamaModel model() {
        return model;
    }

    /**
     * Runs one step. Returns {@code batch.logitCount()} rows of {@code vocabSize} logits, in the
     * order of {@link ForwardBatch#logitTokens()}.
     */
    public float[] forward(ForwardBatch batch, KvCache cache) {
        int n = batch.size();
        int dim = cfg.dim();
        int qDim = cfg.qDim();
        int kvDim = cfg.kvDim();
        int hidden = cfg.hiddenDim();
        checkBatch(batch, cache);

        float[] x = new float[n * dim];
        for (int t = 0; t < n; t++) {
            MatMul.row(model.tokenEmbedding(), batch.token(t), x, t * dim);
        }
        float[] h = new float[n * dim];
        float[] q = new float[n * qDim];
        float[] k = new float[n * kvDim];
        float[] v = new float[n * kvDim];
        float[] att = new float[n * qDim];
        float[] proj = new float[n * dim];
        float[] gate = new float[n * hidden];
        float[] up = new float[n * hidden];

        for (int l = 0; l < cfg.layers(); l++) {
            LayerWeights w = model.layers().get(l);
            for (int t = 0; t < n; t++) {
                VectorMath.rmsNorm(h, t * dim, x, t * dim, w.attnNorm(), dim, cfg.rmsEps());
            }
            MatMul.matmul(parallel, new Tensor[] {w.wq(), w.wk(), w.wv()}, h, n, new float[][] {q, k, v});
            addBias(q, w.bq(), n);
            addBias(k, w.bk(), n);
            addBias(v, w.bv(), n);
            for (int t = 0; t < n; t++) {
                int pos = batch.position(t);
                rope.apply(q, t * qDim, cfg.heads(), pos);
                rope.apply(k, t * kvDim, cfg.kvHeads(), pos);
                cache.store(l, batch.slot(batch.sequence(t), pos, cache.blockSize()), k, t * kvDim, v, t * kvDim);
            }
            attention(l, batch, cache, q, att);
            MatMul.matmul(parallel, w.wo(), att, n, proj);
            VectorMath.add(x, proj, n * dim);

            for (int t = 0; t < n; t++) {
                VectorMath.rmsNorm(h, t * dim, x, t * dim, w.ffnNorm(), dim, cfg.rmsEps());
            }
            MatMul.swiGlu(parallel, w.wGate(), w.wUp(), h, n, gate, up);
            MatMul.matmul(parallel, w.wDown(), gate, n, proj);
            VectorMath.add(x, proj, n * dim);
        }

        int rows = batch.logitCount();
        float[] selected = new float[rows * dim];
        for (int i = 0; i < rows; i++) {
            int t = batch.logitToken(i);
            VectorMath.rmsNorm(selected, i * dim, x, t * dim, model.finalNorm(), dim, cfg.rmsEps());
        }
        float[] logits = new float[rows * cfg.vocabSize()];
        if (rows > 0) {
            MatMul.matmul(parallel, model.output(), selected, rows, logits);
        }
        return logits;
    }

    private static void addBias(float[] rows, float[] bias, int n) {
        if (bias == null) {
            return;
        }
        for (int t = 0; t < n; t++) {
            VectorMath.axpy(rows, t * bias.length, 1f, bias, 0, bias.length);
        }
    }

    /** Causal attention of every (token, head) pair over its sequence's cached positions 0..pos. */
    private void attention(int layer, ForwardBatch batch, KvCache cache, float[] q, float[] out) {
        int heads = cfg.heads();
        int headDim = cfg.headDim();
        int group = cfg.groupSize();
        int qDim = cfg.qDim();
        int blockSize = cache.blockSize();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        int pairs = batch.size() * heads;
        int maxPos = 0;
        for (int t = 0; t < batch.size(); t++) {
            maxPos = Math.max(maxPos, batch.position(t));
        }
        int scoreLength = maxPos + 1;
        parallel.forRange(pairs, MIN_HEADS_PER_THREAD, (from, to) -> {
            float[] scores = new float[scoreLength];
            for (int p = from; p < to; p++) {
                int t = p / heads;
                int head = p % heads;
                int seq = batch.sequence(t);
                int pos = batch.position(t);
                int qOff = t * qDim + head * headDim;
                int kvOff = (head / group) * headDim;
                for (int j = 0; j <= pos; j++) {
                    int slot = batch.slot(seq, j, blockSize);
                    scores[j] = cache.dotKey(layer, slot, kvOff, q, qOff, headDim) * scale;
                }
                VectorMath.softmax(scores, 0, pos + 1);
                java.util.Arrays.fill(out, qOff, qOff + headDim, 0f);
                for (int j = 0; j <= pos; j++) {
                    int slot = batch.slot(seq, j, blockSize);
                    cache.addValue(layer, slot, kvOff, scores[j], out, qOff, headDim);
                }
            }
        });
    }

    private void checkBatch(ForwardBatch batch, KvCache cache) {
        if (cache.kvDim() != cfg.kvDim()) {
            throw new IllegalArgumentException("KV cache holds " + cache.kvDim() + " values per token, the model needs "
                    + cfg.kvDim());
        }
        for (int t = 0; t < batch.size(); t++) {
            int token = batch.token(t);
            if (token < 0 || token >= cfg.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.."
                        + (cfg.vocabSize() - 1) + ")");
            }
            if (batch.position(t) >= cfg.contextLength()) {
                throw new IllegalArgumentException("position " + batch.position(t) + " is past the context length "
                        + cfg.contextLength());
            }
        }
    }
}
