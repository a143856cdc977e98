package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * One SwiGLU expert of a mixture-of-experts block, {@code down(silu(gate·h) ⊙ up·h)}: three
 * matrices, each either a whole tensor (a file with one tensor per expert) or one expert's slice
 * of a stacked 3-D tensor ({@code ffn_gate_exps}), a view of the same mapping.
 *
 * @param gate [expertHidden, dim]
 * @param up [expertHidden, dim]
 * @param down [dim, expertHidden]
 */
public record ExpertWeights(Tensor gate, Tensor up, Tensor down) {

    public List<Tensor> matrices() {
        return List.of(gate, down, up);
    }

    public ExpertWeights mapMatrices(UnaryOperator<Tensor> f) {
        return new ExpertWeights(f.apply(gate), f.apply(up), f.apply(down));
    }
}
