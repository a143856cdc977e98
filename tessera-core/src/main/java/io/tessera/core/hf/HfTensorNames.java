package io.tessera.core.hf;

import io.tessera.core.arch.TensorNames;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Hugging Face {@code transformers} names of the tensors every family binds by llama.cpp's
 * names ({@link TensorNames}): the mapping llama.cpp's converter applies, read backwards. Llama,
 * Mistral, Qwen 2 and Qwen 3 checkpoints all use these names.
 */
public final class HfTensorNames {

    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\.(.+)");

    private static final Map<String, String> GLOBAL = Map.of(
            TensorNames.TOKEN_EMBEDDING, "model.embed_tokens.weight",
            TensorNames.OUTPUT_NORM, "model.norm.weight",
            TensorNames.OUTPUT, "lm_head.weight");

    private static final Map<String, String> LAYER = Map.ofEntries(
            Map.entry("attn_norm.weight", "input_layernorm.weight"),
            Map.entry("attn_q.weight", "self_attn.q_proj.weight"),
            Map.entry("attn_k.weight", "self_attn.k_proj.weight"),
            Map.entry("attn_v.weight", "self_attn.v_proj.weight"),
            Map.entry("attn_q.bias", "self_attn.q_proj.bias"),
            Map.entry("attn_k.bias", "self_attn.k_proj.bias"),
            Map.entry("attn_v.bias", "self_attn.v_proj.bias"),
            Map.entry("attn_q_norm.weight", "self_attn.q_norm.weight"),
            Map.entry("attn_k_norm.weight", "self_attn.k_norm.weight"),
            Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
            Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"),
            Map.entry("ffn_gate.weight", "mlp.gate_proj.weight"),
            Map.entry("ffn_up.weight", "mlp.up_proj.weight"),
            Map.entry("ffn_down.weight", "mlp.down_proj.weight"));

    private HfTensorNames() {
    }

    /** The checkpoint's name of a GGUF tensor name, or null when checkpoints have no such tensor. */
    public static String of(String ggufName) {
        String global = GLOBAL.get(ggufName);
        if (global != null) {
            return global;
        }
        Matcher m = BLOCK.matcher(ggufName);
        if (!m.matches()) {
            return null;
        }
        String part = LAYER.get(m.group(2));
        return part == null ? null : "model.layers." + m.group(1) + "." + part;
    }

    /** Whether a GGUF Q or K projection weight (the rows llama.cpp's converter permutes for {@code llama}). */
    public static boolean isRotatedProjection(String ggufName) {
        return ggufName.endsWith(".attn_q.weight") || ggufName.endsWith(".attn_k.weight");
    }
}
