package io.tessera.cluster;

import io.tessera.core.model.ModelConfig;

/**
 * Contiguous layer ranges for pipeline stages, balanced by cost: each layer costs its weight
 * parameters, the last stage also pays for the output head (vocab × dim) and the first for the
 * embedding lookup (negligible). The split minimises the most expensive stage (exact, by dynamic
 * programming over the split points).
 */
public final class StagePartition {

    private StagePartition() {
    }

    /** Returns stages+1 boundaries: stage s runs layers [b[s], b[s+1]). */
    public static int[] split(ModelConfig cfg, int stages) {
        int layers = cfg.layers();
        if (stages < 1 || stages > layers) {
            throw new IllegalArgumentException("cannot split " + layers + " layers into " + stages + " pipeline stages");
        }
        double layer = (double) cfg.dim() * (cfg.qDim() * 2 + cfg.kvDim() * 2) + 3.0 * cfg.dim() * cfg.hiddenDim();
        double head = (double) cfg.vocabSize() * cfg.dim();
        // best[s][l]: the least max-stage cost of putting layers [0, l) into stages [0, s)
        double[][] best = new double[stages + 1][layers + 1];
        int[][] cut = new int[stages + 1][layers + 1];
        for (double[] row : best) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        for (int s = 1; s <= stages; s++) {
            for (int l = s; l <= layers - (stages - s); l++) {
                for (int from = s - 1; from < l; from++) {
                    double cost = (l - from) * layer + (s == stages ? head : 0);
                    double v = Math.max(best[s - 1][from], cost);
                    if (v < best[s][l]) {
                        best[s][l] = v;
                        cut[s][l] = from;
                    }
                }
            }
        }
        int[] b = new int[stages + 1];
        b[stages] = layers;
        for (int s = stages; s > 0; s--) {
            b[s - 1] = cut[s][b[s]];
        }
        return b;
    }
}
