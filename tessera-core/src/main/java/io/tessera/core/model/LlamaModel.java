package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded Llama-family model: its configuration and weights. The weights are views of a memory
 * mapping owned by this object; {@link #close()} releases it.
 *
 * @param tokenEmbedding [vocab, dim]
 * @param output the output head [vocab, dim]; the same tensor as the embedding when tied
 */
public record LlamaModel(
        Path source,
        LlamaConfig config,
        Tensor tokenEmbedding,
        List<LayerWeights> layers,
        float[] finalNorm,
        Tensor output,
        AutoCloseable resources) implements AutoCloseable {

    public LlamaModel {
        layers = List.copyOf(layers);
    }

    public boolean tiedOutput() {
        return output == tokenEmbedding;
    }

    /** Every weight matrix, for reports such as the types in use and the bytes read per token. */
    public List<Tensor> matrices() {
        List<Tensor> all = new ArrayList<>();
        all.add(tokenEmbedding);
        for (LayerWeights l : layers) {
            all.addAll(List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wDown(), l.wUp()));
        }
        if (!tiedOutput()) {
            all.add(output);
        }
        return all;
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing " + source + ": " + e.getMessage(), e);
        }
    }
}
