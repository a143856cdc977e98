package io.tessera.core.hf;

import io.tessera.core.arch.TensorNames;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Hugging Face {@code transformers} names of the tensors a family binds by llama.cpp's names
 * ({@link TensorNames}): the mapping llama.cpp's converter applies, read backwards. Llama,
 * Mistral, Qwen 2 and Qwen 3 checkpoints use the common names ({@link #of}); Gemma 3 names its
 * four norms of a layer after their place, and Phi-3 stores fused {@code qkv_proj} and
 * {@code gate_up_proj} matrices. A multimodal checkpoint keeps its language model under a prefix
 * of its own ({@link #forFamily}).
 */
public final class HfTensorNames {

    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    /** The prefix of the language model in a text-only checkpoint. */
    public static final String TEXT_PREFIX = "model.";

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

    /** Gemma 2/3: a norm before and after each block; HF's post_attention_layernorm is the attention's output norm. */
    private static final Map<String, String> GEMMA3 = Map.of(
            "post_attention_norm.weight", "post_attention_layernorm.weight",
            "ffn_norm.weight", "pre_feedforward_layernorm.weight",
            "post_ffw_norm.weight", "post_feedforward_layernorm.weight");

    /** Phi-3: Q, K, V rows in one matrix, gate and up rows in another (llama.cpp's attn_qkv and ffn_up). */
    private static final Map<String, String> PHI3 = Map.of(
            "attn_qkv.weight", "self_attn.qkv_proj.weight",
            "ffn_up.weight", "mlp.gate_up_proj.weight");

    private static final HfTensorNames COMMON = new HfTensorNames(LAYER, TEXT_PREFIX, "lm_head.weight");

    private final Map<String, String> layer;
    private final String prefix;
    private final String head;

    private HfTensorNames(Map<String, String> layer, String prefix, String head) {
        this.layer = layer;
        this.prefix = prefix;
        this.head = head;
    }

    /**
     * The names of a family's checkpoints.
     *
     * @param ggufArchitecture the family's GGUF architecture name
     * @param prefix where the language model's {@code embed_tokens}, {@code layers} and {@code norm} are
     *     ({@value #TEXT_PREFIX}, or e.g. {@code language_model.model.} in a multimodal checkpoint)
     * @param head the output head's name
     */
    public static HfTensorNames forFamily(String ggufArchitecture, String prefix, String head) {
        Map<String, String> own = switch (ggufArchitecture) {
            case "gemma3" -> GEMMA3;
            case "phi3" -> PHI3;
            default -> Map.of();
        };
        Map<String, String> layer = new HashMap<>(LAYER);
        layer.putAll(own);
        return new HfTensorNames(Map.copyOf(layer), prefix, head);
    }

    /** The checkpoint's name of a GGUF tensor name, or null when checkpoints have no such tensor. */
    public String name(String ggufName) {
        switch (ggufName) {
            case TensorNames.TOKEN_EMBEDDING:
                return prefix + "embed_tokens.weight";
            case TensorNames.OUTPUT_NORM:
                return prefix + "norm.weight";
            case TensorNames.OUTPUT:
                return head;
            default:
                break;
        }
        Matcher m = BLOCK.matcher(ggufName);
        if (!m.matches()) {
            return null;
        }
        String part = layer.get(m.group(2));
        return part == null ? null : prefix + "layers." + m.group(1) + "." + part;
    }

    /** The common (Llama, Mistral, Qwen) checkpoint name of a GGUF tensor name, or null. */
    public static String of(String ggufName) {
        return COMMON.name(ggufName);
    }

    /** Whether a GGUF Q or K projection weight (the rows llama.cpp's converter permutes for {@code llama}). */
    public static boolean isRotatedProjection(String ggufName) {
        return ggufName.endsWith(".attn_q.weight") || ggufName.endsWith(".attn_k.weight");
    }
}
