package io.tessera.core.arch;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;

/**
 * The tensors of a model file by GGUF name, each checked against the shape the binding expects
 * (a mismatch is a {@link ModelFormatException} naming the tensor). Matrices stay views of the
 * file; vectors (norm weights, biases) are small and copied to floats.
 */
public interface TensorSource {

    /** The file, named in errors and kept as the model's source. */
    Path path();

    /** Whether the file holds a tensor of this name. */
    boolean has(String name) throws ModelFormatException;

    /** The named matrix of {@code rows} rows of {@code cols} values (GGML dims {@code {cols, rows}}). */
    Tensor matrix(String name, int rows, int cols) throws ModelFormatException;

    /**
     * The {@code count} matrices of {@code rows} rows of {@code cols} values stacked in the named
     * 3-D tensor (GGML dims {@code {cols, rows, count}}: a mixture-of-experts layer's
     * {@code ffn_gate_exps}), each a view of its part of the tensor. A format without stacked
     * tensors has none of that name ({@link #has} is false), and this refuses it.
     */
    default List<Tensor> stackedMatrices(String name, int count, int rows, int cols) throws ModelFormatException {
        throw new ModelFormatException(path(), "tensor '" + name + "'", "stacked expert tensors are not read from"
                + " this format");
    }

    /** The named vector of {@code length} values, as floats. */
    float[] vector(String name, int length) throws ModelFormatException;

    /** What closes the file once the model is closed. */
    AutoCloseable resources();
}
