package io.tessera.core.hf;

import io.tessera.core.arch.Architectures;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.SyntheticModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A checkpoint directory as a real one looks, at a tiny size: random weights of a small model
 * with a real vocabulary size (tied embeddings), and a real model's tokenizer.json and
 * tokenizer_config.json (chat template, special tokens).
 */
final class RealisticCheckpoints {

    private RealisticCheckpoints() {
    }

    static Path write(Path dir, String family, int vocab, Path tokenizerFiles, int dim, int layers)
            throws IOException {
        ModelConfig cfg = Architectures.named(family).configure(new ModelConfig(family, dim, 2 * dim, layers, 2, 1,
                dim / 2, vocab, 256, 500000f, RopeStyle.INTERLEAVED, 1e-5f));
        HfCheckpointWriter.write(dir, cfg, true, SafetensorsDtype.BF16, SyntheticModel.weights(3));
        Files.copy(tokenizerFiles.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.copy(tokenizerFiles.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        return dir;
    }
}
