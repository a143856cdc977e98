package io.tessera.core.arch;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import java.util.List;

/**
 * One model family: how its configuration is read and its weights are bound by name. The forward
 * pass is assembled from the shared blocks ({@code io.tessera.core.forward}) whose options the
 * family sets in its {@link ModelConfig}; everything past loading (engine, cluster, planner) sees
 * only the {@link Model} and its configuration. Families are listed in {@link Architectures}.
 *
 * <p>Reading a configuration is split in two so that every file format shares the family's
 * choices: the format's reader produces the hyperparameters every decoder has (GGUF's
 * {@code <arch>.*} keys in {@link GgufHyperparameters}; a Hugging Face {@code config.json} reader
 * would produce the same from {@code hidden_size}, {@code num_hidden_layers}, ...), and
 * {@link #configure} adds what the family fixes.
 */
public interface Architecture {

    /** The family's name, also the name of its package. */
    String name();

    /** The GGUF {@code general.architecture} values this family runs. */
    List<String> ggufNames();

    /**
     * The Hugging Face {@code config.json} {@code architectures} entries this family runs; empty
     * while the checkpoint loader cannot map the family's tensors and keys (it is then refused).
     */
    List<String> huggingFaceNames();

    /**
     * The family's fixed choices (rotary pairing, attention options, feed-forward gating) applied to
     * the hyperparameters a file format read; the options a file can set itself (rope scaling, and
     * for some families sliding window and soft-capping) are read after this.
     */
    ModelConfig configure(ModelConfig common);

    /**
     * Reads the GGUF keys of this family's own options into {@code configured} (what
     * {@link #configure} returned, with the rope scaling keys every family shares applied); the
     * default reads none. A family reads the sliding window and soft-capping keys only if its models
     * use them, as llama.cpp does (some converters write a window the model does not apply: Qwen 2's
     * {@code sliding_window} with {@code use_sliding_window} false).
     *
     * @param prefix {@code <general.architecture>.}
     */
    default ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        return configured;
    }

    /**
     * Writes the GGUF keys of this family's own options, the ones {@link #readGguf} reads beyond
     * those every family shares; the default writes none.
     *
     * @param prefix {@code <general.architecture>.}
     */
    default void writeGguf(ModelConfig config, GgufWriter w, String prefix) {
    }

    /**
     * Whether llama.cpp stores this family's Q, K and V projections as one {@code attn_qkv} matrix
     * and its gate and up projections as one {@code ffn_up} of twice the rows (Phi-3), which the
     * GGUF writer then does too; the default is separate matrices.
     */
    default boolean fusedProjections() {
        return false;
    }

    /**
     * Whether the family's models may rotate only the leading part of each head
     * ({@code rope.dimension_count} below the head dimension, Hugging Face's
     * {@code partial_rotary_factor}: Phi-4-mini); llama.cpp refuses it for the others, and so does
     * the loader.
     */
    default boolean partialRotary() {
        return false;
    }

    /**
     * Binds the model's weights by their GGUF names (the names every format is mapped to), checking
     * each tensor's shape against {@code config}.
     */
    Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException;
}
