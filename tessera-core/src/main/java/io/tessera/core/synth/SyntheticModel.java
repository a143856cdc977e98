package io.tessera.core.synth;

import io.tessera.core.arch.TensorNames;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.hf.Fp8Scales;
import io.tessera.core.hf.HfCheckpointWriter;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.tokenizer.GgufTokenizerMetadata;
import io.tessera.core.tokenizer.SyntheticByteLevelTokenizer;
import io.tessera.core.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a random-weight model in the exact shape of a real one. Matrices get values of standard
 * deviation 1/√(row length), so activations keep a realistic scale through the layers; norm weights
 * sit near 1. The same seed gives a byte-identical file.
 */
public final class SyntheticModel {

    private SyntheticModel() {
    }

    /**
     * Writes the model as a GGUF file that llama.cpp loads too: the pieces llama.cpp requires of the
     * family's vocabulary are added to {@code vocabulary} where missing (see
     * {@link SyntheticVocabulary#withControlPieces}).
     */
    public static void write(Path out, ModelShape shape, Vocabulary vocabulary, WeightTypes types, long seed)
            throws IOException {
        write(out, shape, vocabulary, types, seed, GgufWriter.Progress.NONE);
    }

    /** As {@link #write(Path, ModelShape, Vocabulary, WeightTypes, long)}, telling {@code progress} of each tensor. */
    public static void write(Path out, ModelShape shape, Vocabulary vocabulary, WeightTypes types, long seed,
            GgufWriter.Progress progress) throws IOException {
        write(out, shape, vocabulary, types, seed, new OutlierChannels(0, 1f), progress);
    }

    /** As above, with outlier channels injected into the weights ({@link OutlierChannels}). */
    public static void write(Path out, ModelShape shape, Vocabulary vocabulary, WeightTypes types, long seed,
            OutlierChannels outliers, GgufWriter.Progress progress) throws IOException {
        ModelShape s = shape.config().vocabSize() == vocabulary.size() ? shape : shape.withVocabulary(vocabulary.size());
        Vocabulary v = SyntheticVocabulary.withControlPieces(vocabulary,
                piecesLlamaCppRequires(shape.config().architecture()));
        GgufModelWriter.write(out, "synthetic " + shape.name(), s.config(), s.tiedEmbeddings(), null,
                GgufTokenizerMetadata.of(v), types, outliers.apply(weights(seed), s.config()), progress);
    }

    /**
     * The pieces llama.cpp looks up by their text when it loads a family's vocabulary, refusing the
     * file when one is missing. For a model whose {@code general.name} holds "phi-3" or "phi3" (as a
     * synthetic Phi-3 file's does) it sets attributes of {@code <unk>}, {@code <s>}, {@code </s>}
     * and Phi-3's end of text {@code <|endoftext|>}; Phi-3's end of turn {@code <|end|>} comes along,
     * as in the real vocabulary. The other families' files load with the three SentencePiece
     * control pieces alone.
     */
    static List<String> piecesLlamaCppRequires(String architecture) {
        return architecture.equals("phi3") ? List.of("<unk>", "<s>", "</s>", "<|endoftext|>", "<|end|>")
                : List.of();
    }

    /**
     * Writes the same model as a Hugging Face checkpoint directory: config.json, model.safetensors
     * (matrices in {@code dtype}), generation_config.json, and a made-up byte-level tokenizer.json of
     * the model's vocabulary size. The same seed gives the same weights as {@link #write}.
     */
    public static void writeCheckpoint(Path dir, ModelShape shape, SafetensorsDtype dtype, long seed)
            throws IOException {
        HfCheckpointWriter.write(dir, shape.config(), shape.tiedEmbeddings(), dtype, weights(seed),
                shape.huggingFaceArchitecture());
        SyntheticByteLevelTokenizer.write(dir, shape.config().vocabSize());
        HfCheckpointWriter.writeGenerationConfig(dir, 0, List.of(1));
    }

    /**
     * As {@link #writeCheckpoint}, the linear layers in FP8 E4M3 with scales of {@code scales}
     * ({@link HfCheckpointWriter#writeFp8}).
     */
    public static void writeFp8Checkpoint(Path dir, ModelShape shape, Fp8Scales scales, long seed) throws IOException {
        HfCheckpointWriter.writeFp8(dir, shape.config(), shape.tiedEmbeddings(), scales, weights(seed),
                shape.huggingFaceArchitecture());
        SyntheticByteLevelTokenizer.write(dir, shape.config().vocabSize());
        HfCheckpointWriter.writeGenerationConfig(dir, 0, List.of(1));
    }

    /**
     * The weights of every synthetic model of this seed, by GGUF tensor name and row: a GGUF file and a
     * Hugging Face checkpoint written from it hold the same values.
     */
    public static GgufModelWriter.WeightSource weights(long seed) {
        RandomWeights random = new RandomWeights(seed);
        return (tensor, row, dst, n) -> {
            if (tensor.startsWith("rope_factors_")) {
                // longrope's divisors: near 1 for the short list, up to ~9 for the long one, as in Phi-3.5
                random.fillRow(tensor, row, dst, n, 1f);
                float spread = tensor.equals(TensorNames.ROPE_FACTORS_LONG) ? 8f : 0.2f;
                for (int i = 0; i < n; i++) {
                    dst[i] = 1f + spread * Math.abs(dst[i]);
                }
            } else if (tensor.endsWith("norm.weight")) {
                random.fillRow(tensor, row, dst, n, 0.1f);
                for (int i = 0; i < n; i++) {
                    dst[i] += 1f;
                }
            } else if (tensor.endsWith(".bias")) {
                random.fillRow(tensor, row, dst, n, 0.02f);
            } else {
                random.fillRow(tensor, row, dst, n, (float) Math.sqrt(3.0 / n));
            }
        };
    }
}
