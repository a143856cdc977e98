package io.tessera.core.shard;

import io.tessera.core.model.ModelConfig;

/**
 * Which part of a model one worker runs: a tensor-parallel rank of {@code tpSize}, and the layers
 * {@code [layerFrom, layerTo)} of its pipeline stage ({@code stage} of {@code stages}).
 *
 * <p>Tensor parallelism splits whole heads: {@code heads % tpSize == 0} is required. When
 * {@code tpSize <= kvHeads} each rank holds {@code kvHeads / tpSize} KV heads (which must divide);
 * when {@code tpSize > kvHeads} (then {@code tpSize % kvHeads == 0}) KV heads are replicated and
 * each rank holds the one KV head its query heads read. The FFN hidden dimension is split into
 * contiguous ranges, the first {@code hidden % tpSize} ranks taking one more unit.
 */
public record ShardSpec(int tpRank, int tpSize, int stage, int stages, int layerFrom, int layerTo) {

    public ShardSpec {
        if (tpSize < 1 || tpRank < 0 || tpRank >= tpSize) {
            throw new IllegalArgumentException("tensor-parallel rank " + tpRank + " of " + tpSize + " is out of range");
        }
        if (stages < 1 || stage < 0 || stage >= stages) {
            throw new IllegalArgumentException("pipeline stage " + stage + " of " + stages + " is out of range");
        }
        if (layerFrom < 0 || layerTo <= layerFrom) {
            throw new IllegalArgumentException("empty layer range [" + layerFrom + ", " + layerTo + ")");
        }
    }

    /** The whole model in one process. */
    public static ShardSpec whole(ModelConfig cfg) {
        return new ShardSpec(0, 1, 0, 1, 0, cfg.layers());
    }

    public boolean firstStage() {
        return stage == 0;
    }

    public boolean lastStage() {
        return stage == stages - 1;
    }

    public int layerCount() {
        return layerTo - layerFrom;
    }

    /** Checks that the model's shape can be split this way; throws with the reason. */
    public void check(ModelConfig cfg) {
        if (layerTo > cfg.layers()) {
            throw new IllegalArgumentException("layer range [" + layerFrom + ", " + layerTo + ") exceeds the model's "
                    + cfg.layers() + " layers");
        }
        if (cfg.heads() % tpSize != 0) {
            throw new IllegalArgumentException("tensor parallelism " + tpSize + " does not divide the "
                    + cfg.heads() + " attention heads");
        }
        if (tpSize <= cfg.kvHeads() ? cfg.kvHeads() % tpSize != 0 : tpSize % cfg.kvHeads() != 0) {
            throw new IllegalArgumentException("tensor parallelism " + tpSize + " and the " + cfg.kvHeads()
                    + " KV heads must divide one another");
        }
        if (cfg.hiddenDim() < tpSize) {
            throw new IllegalArgumentException("tensor parallelism " + tpSize + " exceeds the FFN width "
                    + cfg.hiddenDim());
        }
        if (tpSize > 1 && cfg.attention().qkNormOverProjection()) {
            throw new IllegalArgumentException("tensor parallelism is not supported for a model whose Q/K norm spans"
                    + " the whole projection (" + cfg.architecture() + "): a rank holds only its heads");
        }
        if (cfg.moe().enabled() && cfg.moe().expertHiddenDim() < tpSize) {
            throw new IllegalArgumentException("tensor parallelism " + tpSize + " exceeds the experts' FFN width "
                    + cfg.moe().expertHiddenDim());
        }
    }

    public int headsPerRank(ModelConfig cfg) {
        return cfg.heads() / tpSize;
    }

    public int headFrom(ModelConfig cfg) {
        return tpRank * headsPerRank(cfg);
    }

    public int kvHeadsPerRank(ModelConfig cfg) {
        return Math.max(1, cfg.kvHeads() / tpSize);
    }

    public int kvHeadFrom(ModelConfig cfg) {
        return headFrom(cfg) / cfg.groupSize();
    }

    public int hiddenFrom(ModelConfig cfg) {
        return rangeFrom(cfg.hiddenDim());
    }

    public int hiddenCount(ModelConfig cfg) {
        return rangeCount(cfg.hiddenDim());
    }

    /** Where this rank's part of a feed-forward width of {@code n} starts (an expert's, the shared expert's). */
    public int rangeFrom(int n) {
        return start(n, tpRank);
    }

    /** How much of a feed-forward width of {@code n} this rank computes. */
    public int rangeCount(int n) {
        return start(n, tpRank + 1) - start(n, tpRank);
    }

    private int start(int n, int rank) {
        int base = n / tpSize;
        int extra = n % tpSize;
        return rank * base + Math.min(rank, extra);
    }
}
