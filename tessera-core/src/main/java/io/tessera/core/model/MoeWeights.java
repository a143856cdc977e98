package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The weights of a mixture-of-experts feed-forward block ({@link MoeOptions}).
 *
 * @param norm the pre-FFN RMSNorm weight, [dim]
 * @param router the router ({@code ffn_gate_inp}), [experts, dim]: one logit per expert
 * @param experts every expert, in the router's order; under expert parallelism a rank's shard has
 *     null in place of the experts other ranks hold
 * @param shared the shared expert that runs on every token ({@code ffn_*_shexp}), or null
 * @param sharedGate the shared expert's gate ({@code ffn_gate_inp_shexp}, Qwen 2 MoE), [dim], or null
 * @param postNorm RMSNorm weight of the block's output, [dim], or null ({@link ModelConfig#postNorms})
 */
public record MoeWeights(float[] norm, Tensor router, List<ExpertWeights> experts, ExpertWeights shared,
        float[] sharedGate, float[] postNorm) {

    public MoeWeights {
        experts = java.util.Collections.unmodifiableList(new ArrayList<>(experts));
    }

    /** Every matrix: the router, each expert's (that this shard holds), the shared expert's. */
    public List<Tensor> matrices() {
        List<Tensor> all = new ArrayList<>();
        all.add(router);
        for (ExpertWeights e : experts) {
            if (e != null) {
                all.addAll(e.matrices());
            }
        }
        if (shared != null) {
            all.addAll(shared.matrices());
        }
        return all;
    }

    public MoeWeights mapMatrices(UnaryOperator<Tensor> f) {
        List<ExpertWeights> mapped = new ArrayList<>(experts.size());
        for (ExpertWeights e : experts) {
            mapped.add(e == null ? null : e.mapMatrices(f));
        }
        return new MoeWeights(norm, f.apply(router), mapped, shared == null ? null : shared.mapMatrices(f),
                sharedGate, postNorm);
    }
}
