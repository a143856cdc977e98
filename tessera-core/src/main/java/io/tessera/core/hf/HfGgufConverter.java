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
import io.tessera.core.tokenizer.HfSentencePieceGgufVocabulary;
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
 * rest of a family's conversion is one entry of {@link #RULES}. The tokenizer is written as
 * {@link HfSentencePieceGgufVocabulary} or {@link HfByteLevelGgufVocabulary} describe.
 */
public final class HfGgufConverter {

    /** Where a family's {@code tokenizer.ggml.add_space_prefix} comes from. */
    enum AddSpacePrefix {
        /** not written */
        NONE,
        /** tokenizer_config.json's {@code add_prefix_space}, when it has one ({@code LlamaModel.set_vocab}) */
        FROM_TOKENIZER_CONFIG,
        /** false with a SentencePiece vocabulary ({@code Gemma3Model.set_vocab}) */
        FALSE_WITH_SENTENCE_PIECE
    }

    /**
     * A family's conversion choices, as llama.cpp's converter class for it makes them. Every family
     * takes {@code tokenizer.model} (SentencePiece, GGUF model {@code llama}) when the directory has
     * one, else a byte-level tokenizer.json (GGUF model {@code gpt2}; Phi-4-mini's way).
     */
    record Rules(AddSpacePrefix addSpacePrefix) {
    }

    /** One entry per family, by {@link Architecture#name()}. */
    static final Map<String, Rules> RULES = Map.of(
            "llama", new Rules(AddSpacePrefix.FROM_TOKENIZER_CONFIG),
            "qwen2", new Rules(AddSpacePrefix.NONE),
            "qwen3", new Rules(AddSpacePrefix.NONE),
            "gemma3", new Rules(AddSpacePrefix.FALSE_WITH_SENTENCE_PIECE),
            "phi3", new Rules(AddSpacePrefix.NONE));

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
        int vocab = hf.config().vocabSize();
        if (Files.isRegularFile(dir.resolve("tokenizer.model"))) {
            Boolean prefix = switch (rules.addSpacePrefix()) {
                case NONE -> null;
                case FROM_TOKENIZER_CONFIG -> configuredSpacePrefix(dir);
                case FALSE_WITH_SENTENCE_PIECE -> false;
            };
            return HfSentencePieceGgufVocabulary.read(dir, vocab, prefix);
        }
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            throw new ModelFormatException(dir, "tokenizer", "neither tokenizer.model nor tokenizer.json is in the "
                    + "directory: the GGUF file needs the tokenizer");
        }
        if (!HfByteLevelGgufVocabulary.isByteLevel(dir)) {
            // llama.cpp falls back to placeholder scores here, which do not tokenize as the model does
            throw new ModelFormatException(dir, "tokenizer.json", "a SentencePiece-style tokenizer.json "
                    + "(byte_fallback) without its tokenizer.model cannot be converted: GGUF stores the "
                    + "SentencePiece scores, which only tokenizer.model has");
        }
        return HfByteLevelGgufVocabulary.read(dir, vocab,
                rules.addSpacePrefix() == AddSpacePrefix.FROM_TOKENIZER_CONFIG ? configuredSpacePrefix(dir) : null);
    }

    /** tokenizer_config.json's {@code add_prefix_space}, or null. */
    private static Boolean configuredSpacePrefix(Path dir) throws IOException {
        Path config = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(config)) {
            return null;
        }
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(config.toFile()).path("add_prefix_space");
        return node.isBoolean() ? node.asBoolean() : null;
    }

    /**
     * The weights with each head's Q and K rows (and bias entries) in interleaved order: GGUF
     * row {@code g} is the checkpoint's half-split row {@link HfCheckpointWriter#halfSplitRow}.
     */
    static WeightSource interleaved(WeightSource halfSplit, int headDim) {
        return (tensor, row, dst, n) -> {
            if (tensor.endsWith(".attn_q.weight") || tensor.endsWith(".attn_k.weight")) {
                halfSplit.row(tensor, HfCheckpointWriter.halfSplitRow(row, headDim), dst, n);
            } else if (tensor.endsWith(".attn_q.bias") || tensor.endsWith(".attn_k.bias")) {
                float[] bias = new float[n];
                halfSplit.row(tensor, row, bias, n);
                for (int i = 0; i < n; i++) {
                    dst[i] = bias[(int) HfCheckpointWriter.halfSplitRow(i, headDim)];
                }
            } else {
                halfSplit.row(tensor, row, dst, n);
            }
        };
    }
}
