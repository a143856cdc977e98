package io.tessera.core.model;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.Architectures;
import io.tessera.core.tensor.GgmlType;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a model's matrices take once quantized to a {@link WeightTypes} ({@code --quantize}, or the
 * GGUF file {@code convert} writes): each matrix the family binds, by its GGUF name and shape
 * (Phi-3's fused projections as one matrix), in the type {@link WeightTypes#typeOf} gives it.
 * Norms and biases, kept in F32, are not counted: they are a rounding error of the weights.
 */
public final class QuantizedSize {

    private QuantizedSize() {
    }

    /** Bytes per tensor type, and the matrix count per type. */
    public record Summary(Map<String, Long> bytesByType, Map<String, Integer> matricesByType) {
        public long bytes() {
            return bytesByType.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    public static Summary of(ModelConfig cfg, boolean tiedOutput, WeightTypes types) {
        Summary s = new Summary(new TreeMap<>(), new TreeMap<>());
        boolean fused = Architectures.forGguf(cfg.architecture()).map(Architecture::fusedProjections).orElse(false);
        add(s, types, TOKEN_EMBEDDING, -1, cfg, cfg.vocabSize(), cfg.dim());
        for (int l = 0; l < cfg.layers(); l++) {
            if (fused) {
                add(s, types, attnQkv(l), l, cfg, cfg.qDim() + 2L * cfg.kvDim(), cfg.dim());
                add(s, types, ffnUp(l), l, cfg, 2L * cfg.hiddenDim(), cfg.dim());
            } else {
                add(s, types, attnQ(l), l, cfg, cfg.qDim(), cfg.dim());
                add(s, types, attnK(l), l, cfg, cfg.kvDim(), cfg.dim());
                add(s, types, attnV(l), l, cfg, cfg.kvDim(), cfg.dim());
                add(s, types, ffnGate(l), l, cfg, cfg.hiddenDim(), cfg.dim());
                add(s, types, ffnUp(l), l, cfg, cfg.hiddenDim(), cfg.dim());
            }
            add(s, types, attnOutput(l), l, cfg, cfg.dim(), cfg.qDim());
            add(s, types, ffnDown(l), l, cfg, cfg.dim(), cfg.hiddenDim());
        }
        if (!tiedOutput) {
            add(s, types, OUTPUT, -1, cfg, cfg.vocabSize(), cfg.dim());
        }
        return s;
    }

    private static void add(Summary s, WeightTypes types, String name, int layer, ModelConfig cfg, long rows,
            int cols) {
        GgmlType t = types.typeOf(name, layer, cfg.layers(), cols);
        s.bytesByType().merge(t.name(), t.bytesFor(rows * cols), Long::sum);
        s.matricesByType().merge(t.name(), 1, Integer::sum);
    }
}
