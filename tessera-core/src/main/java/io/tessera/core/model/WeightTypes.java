package io.tessera.core.model;

import io.tessera.core.tensor.GgmlType;
import java.util.Locale;

/**
 * Which tensor type each weight of a model is written in: one type for every matrix, or a mix as
 * llama.cpp's {@code Q4_K_M} (Q4_K, with Q6_K for the output head and for attn_v/ffn_down in the
 * layers that matter most). Norm weights and biases always stay F32. A matrix whose rows do not fill
 * whole blocks of the chosen type falls back to F16, as llama.cpp's quantizer does (FP8's blocks
 * are 64 values). FP8 ({@link GgmlType#FP8}) quantizes at load and writes Hugging Face directories;
 * it has no GGUF {@link #fileType} (-1); W8A8 ({@link GgmlType#W8A8}, int8 rows with a scale each)
 * likewise, its token embedding and output head kept as stored. A mixture-of-experts router ({@code ffn_gate_inp}) stays
 * F32.
 */
public record WeightTypes(String name, GgmlType matrices, boolean q4kmMix, int fileType) {

    /** The names {@link #parse} takes, for messages. */
    public static final String NAMES = "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M, FP8, W8A8";

    public static WeightTypes parse(String name) {
        String n = name.toUpperCase(Locale.ROOT);
        if (n.equals("Q4_K_M")) {
            return new WeightTypes("Q4_K_M", GgmlType.Q4_K, true, 15);
        }
        GgmlType t;
        try {
            t = GgmlType.parse(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown weight type '" + name + "' (supported: " + NAMES + ")");
        }
        if (!t.supported()) {
            throw new IllegalArgumentException("type " + t + " is not supported for writing (supported: " + NAMES + ")");
        }
        // llama.cpp's llama_ftype numbering, stored as general.file_type; FP8 has none (not a GGUF type)
        int fileType = switch (t) {
            case FP8, W8A8 -> -1;
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q4_K -> 14;
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalStateException(t.toString());
        };
        return new WeightTypes(t.name(), t, false, fileType);
    }

    /**
     * The type of one matrix.
     *
     * @param tensor the GGUF tensor name, e.g. {@code blk.3.ffn_down.weight}
     * @param layer the block index, or -1 for the embedding and output head
     * @param layers the model's block count
     */
    public GgmlType typeOf(String tensor, int layer, int layers, long rowLength) {
        if (tensor.endsWith("ffn_gate_inp.weight")) {
            // a mixture-of-experts router stays F32, as llama.cpp's quantizer keeps it: its logits choose the experts
            return GgmlType.F32;
        }
        GgmlType t = matrices;
        if (q4kmMix) {
            if (tensor.equals("output.weight")) {
                t = GgmlType.Q6_K;
            } else if ((tensor.endsWith("attn_v.weight") || tensor.endsWith("ffn_down.weight"))
                    && moreBits(layer, layers)) {
                t = GgmlType.Q6_K;
            }
        }
        return rowLength % t.blockSize() == 0 ? t : (t.quantized() ? GgmlType.F16 : t);
    }

    /** The first and last eighth of the layers, and every third in between, get more bits. */
    private static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }
}
