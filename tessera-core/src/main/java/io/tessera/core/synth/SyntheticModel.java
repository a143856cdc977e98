package io.tessera.core.synth;

import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes a random-weight model in the exact shape of a real one. Matrices get values of standard
 * deviation 1/√(row length), so activations keep a realistic scale through the layers; norm weights
 * sit near 1. The same seed gives a byte-identical file.
 */
public final class SyntheticModel {

    private SyntheticModel() {
    }

    public static void write(Path out, ModelShape shape, Vocabulary vocabulary, WeightTypes types, long seed)
            throws IOException {
        ModelShape s = shape.config().vocabSize() == vocabulary.size() ? shape : shape.withVocabulary(vocabulary.size());
        RandomWeights random = new RandomWeights(seed);
        GgufModelWriter.write(out, "synthetic " + shape.name(), s.config(), s.tiedEmbeddings(), vocabulary, types,
                (tensor, row, dst, n) -> {
                    if (tensor.endsWith("norm.weight")) {
                        random.fillRow(tensor, row, dst, n, 0.1f);
                        for (int i = 0; i < n; i++) {
                            dst[i] += 1f;
                        }
                    } else if (tensor.endsWith(".bias")) {
                        random.fillRow(tensor, row, dst, n, 0.02f);
                    } else {
                        random.fillRow(tensor, row, dst, n, (float) Math.sqrt(3.0 / n));
                    }
                });
    }
}
