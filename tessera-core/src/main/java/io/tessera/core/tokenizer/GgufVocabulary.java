package io.tessera.core.tokenizer;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufValueType;
import io.tessera.core.gguf.GgufWriter;
import java.util.Locale;

/**
 * Reads and writes a SentencePiece vocabulary as GGUF's {@code tokenizer.ggml.*} metadata (model
 * {@code llama}), the way llama.cpp's converters store it: pieces use '▁' for spaces, BOS/EOS are
 * the control pieces {@code <s>}/{@code </s>}.
 */
public final class GgufVocabulary {

    private GgufVocabulary() {
    }

    public static Vocabulary read(GgufMetadata md) throws ModelFormatException {
        String model = md.getString("tokenizer.ggml.model");
        if (!model.equals("llama")) {
            throw new ModelFormatException(md.file(), "tokenizer.ggml.model", "tokenizer model '" + model
                    + "' is not supported (supported: llama, the SentencePiece BPE of Llama 1/2, Mistral, TinyLlama)");
        }
        String[] pieces = md.getStringArray("tokenizer.ggml.tokens");
        float[] scores = md.contains(SCORES) ? scores(md) : new float[pieces.length];
        int[] types = md.findIntArray("tokenizer.ggml.token_type").orElse(null);
        try {
            return new Vocabulary(pieces, scores, types,
                    md.getInt("tokenizer.ggml.bos_token_id", 1),
                    md.getInt("tokenizer.ggml.eos_token_id", 2),
                    md.getInt("tokenizer.ggml.unknown_token_id", 0),
                    md.getInt("tokenizer.ggml.padding_token_id", -1),
                    md.getBoolean("tokenizer.ggml.add_bos_token", true),
                    md.getBoolean("tokenizer.ggml.add_space_prefix", true));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(md.file(), "tokenizer.ggml.*", e.getMessage());
        }
    }

    private static final String SCORES = "tokenizer.ggml.scores";

    /**
     * The merge scores: float32 as every converter writes them, and finite. Integers here are a
     * corrupt or mislabelled array (read as floats they would reorder every merge).
     */
    private static float[] scores(GgufMetadata md) throws ModelFormatException {
        GgufValueType type = md.arrayType(SCORES);
        if (!type.isFloat()) {
            throw new ModelFormatException(md.file(), "key '" + SCORES + "'", "is an array of "
                    + type.name().toLowerCase(Locale.ROOT) + ", expected an array of float32");
        }
        float[] scores = md.getFloatArray(SCORES);
        for (int i = 0; i < scores.length; i++) {
            if (!Float.isFinite(scores[i])) {
                throw new ModelFormatException(md.file(), "key '" + SCORES + "'", "score " + scores[i] + " of token "
                        + i + " is not finite");
            }
        }
        return scores;
    }

    /** Stores the vocabulary, turning llama2.c-style ' ' spaces into '▁' as GGUF files have them. */
    public static void write(Vocabulary v, GgufWriter w) {
        String[] pieces = new String[v.size()];
        float[] scores = new float[v.size()];
        int[] types = new int[v.size()];
        for (int i = 0; i < v.size(); i++) {
            String p = v.piece(i);
            pieces[i] = v.spaceMarker() == ' ' && v.tokenType(i) == Vocabulary.NORMAL
                    ? p.replace(' ', Vocabulary.SPM_SPACE) : p;
            scores[i] = v.score(i);
            types[i] = v.tokenType(i);
        }
        w.putString("tokenizer.ggml.model", "llama");
        w.putStringArray("tokenizer.ggml.tokens", pieces);
        w.putFloatArray("tokenizer.ggml.scores", scores);
        w.putIntArray("tokenizer.ggml.token_type", types);
        w.putUInt32("tokenizer.ggml.bos_token_id", v.bos());
        w.putUInt32("tokenizer.ggml.eos_token_id", v.eos());
        if (v.unk() >= 0) {
            w.putUInt32("tokenizer.ggml.unknown_token_id", v.unk());
        }
        if (v.pad() >= 0) {
            w.putUInt32("tokenizer.ggml.padding_token_id", v.pad());
        }
        w.putBool("tokenizer.ggml.add_bos_token", v.addBos());
        w.putBool("tokenizer.ggml.add_space_prefix", v.addSpacePrefix());
    }
}
