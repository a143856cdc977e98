package io.tessera.core.hf;

import io.tessera.core.arch.Architecture;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.GgufModelWriter.WeightSource;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tokenizer.GgufTokenizerMetadata;
import io.tessera.core.tokenizer.HfByteLevelGgufVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Converts a Hugging Face checkpoint directory to the GGUF file llama.cpp's
 * {@code convert_hf_to_gguf.py} writes for it, in any weight type {@link WeightTypes} knows.
 *
 * <p>The checkpoint is bound as for running it ({@link HfCheckpoint#load}: weights stay in the
 * safetensors mappings), so the tensors, their names and the {@code <arch>.*} keys are those the
 * GGUF writer writes for every family. What llama.cpp's converter does beyond that follows from
 * the family: where its GGUF architecture pairs rotary dimensions interleaved ({@code llama}), the
 * Q and K rows (and biases) are permuted from Hugging Face's half-split order, as llama.cpp's
 * {@code LlamaModel.permute} does; Llama 3 rope scaling becomes {@code rope_freqs.weight}. The
 * rest of a family's conversion is one entry of {@link #RULES}.
 */
public final class HfGgufConverter {

    /** How a family's tokenizer is stored in GGUF. */
    enum Vocabulary {
        /** byte-level BPE ({@code gpt2}) when tokenizer.json is one, else SentencePiece ({@code llama}). */
        BYTE_LEVEL_OR_SENTENCE_PIECE,
        /** always byte-level BPE. */
        BYTE_LEVEL,
        /** always SentencePiece (from {@code tokenizer.model}). */
        SENTENCE_PIECE
    }

    /**
     * A family's conversion choices, as llama.cpp's converter class for it makes them.
     *
     * @param addSpacePrefixKey tokenizer_config.json's {@code add_prefix_space} is written as
     *     {@code tokenizer.ggml.add_space_prefix} ({@code LlamaModel.set_vocab})
     */
    record Rules(Vocabulary vocabulary, boolean addSpacePrefixKey) {
    }

    /** One entry per family, by {@link Architecture#name()}. */
    static final Map<String, Rules> RULES = Map.of(
            "llama", new Rules(Vocabulary.BYTE_LEVEL_OR_SENTENCE_PIECE, true),
            "qwen2", new Rules(Vocabulary.BYTE_LEVEL, false),
            "qwen3", new Rules(Vocabulary.BYTE_LEVEL, false),
            "gemma3", new Rules(Vocabulary.SENTENCE_PIECE, false),
            "phi3", new Rules(Vocabulary.SENTENCE_PIECE, false));

    private HfGgufConverter() {
    }

    /**
     * Writes {@code out} from the checkpoint in {@code dir}.
     *
     * @param name {@code general.name}; llama.cpp falls back to the directory's name, as callers may
     */
    public static void convert(Path dir, Path out, String name, WeightTypes types, GgufWriter.Progress progress)
            throws IOException {
        HfConfig hf = HfCheckpoint.config(dir);
        Rules rules = rules(dir, hf.family());
        GgufTokenizerMetadata tokenizer = tokenizer(dir, hf, rules);
        try (Model model = HfCheckpoint.load(dir)) {
            ModelConfig loaded = model.config();
            RopeStyle ggufStyle = hf.family().configure(loaded).ropeStyle();
            ModelConfig cfg = loaded.withRope(ggufStyle, loaded.ropeScaling());
            WeightSource weights = GgufModelWriter.of(model);
            if (ggufStyle == RopeStyle.INTERLEAVED && loaded.ropeStyle() == RopeStyle.NEOX) {
                weights = interleaved(weights, cfg.headDim());
            }
            GgufModelWriter.write(out, name, cfg, model.tiedOutput(), model.ropeFrequencyFactors(), tokenizer, types,
                    weights, progress);
        }
    }

    private static Rules rules(Path dir, Architecture family) throws ModelFormatException {
        Rules rules = RULES.get(family.name());
        if (rules == null) {
            throw new ModelFormatException(dir, "architectures", "converting the " + family.name()
                    + " family to GGUF is not supported yet (supported: " + String.join(", ",
                            RULES.keySet().stream().sorted().toList()) + ")");
        }
        return rules;
    }

    private static GgufTokenizerMetadata tokenizer(Path dir, HfConfig hf, Rules rules) throws IOException {
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            throw new ModelFormatException(dir, "tokenizer.json", "missing: the GGUF file needs the tokenizer");
        }
        boolean byteLevel = switch (rules.vocabulary()) {
            case BYTE_LEVEL -> true;
            case SENTENCE_PIECE -> false;
            case BYTE_LEVEL_OR_SENTENCE_PIECE -> HfByteLevelGgufVocabulary.isByteLevel(dir);
        };
        if (!byteLevel) {
            throw new ModelFormatException(dir, "tokenizer", "the " + hf.family().name() + " family's "
                    + "SentencePiece vocabulary (tokenizer.model) cannot be converted to GGUF yet; byte-level BPE "
                    + "tokenizers (Llama 3, Qwen 2.5/3) can");
        }
        return HfByteLevelGgufVocabulary.read(dir, hf.config().vocabSize(), rules.addSpacePrefixKey());
    }

    /**
     * The weights with each head's Q and K rows (and bias entries) in interleaved order: GGUF
     * row {@code g} is the checkpoint's half-split row {@link RotaryRowOrder#halfSplitRow}.
     */
    static WeightSource interleaved(WeightSource halfSplit, int headDim) {
        return (tensor, row, dst, n) -> {
            if (tensor.endsWith(".attn_q.weight") || tensor.endsWith(".attn_k.weight")) {
                halfSplit.row(tensor, RotaryRowOrder.halfSplitRow(row, headDim), dst, n);
            } else if (tensor.endsWith(".attn_q.bias") || tensor.endsWith(".attn_k.bias")) {
                float[] bias = new float[n];
                halfSplit.row(tensor, row, bias, n);
                for (int i = 0; i < n; i++) {
                    dst[i] = bias[(int) RotaryRowOrder.halfSplitRow(i, headDim)];
                }
            } else {
                halfSplit.row(tensor, row, dst, n);
            }
        };
    }
}
