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
 * of its own ({@link #forFamily}). A mixture-of-experts checkpoint stores one tensor per expert
 * ({@code block_sparse_moe.experts.N.w1} in Mixtral, {@code mlp.experts.N.gate_proj} in Qwen MoE and
 * OLMoE), named here by llama.cpp's one-tensor-per-expert names ({@code ffn_gate.N}).
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

    /** Mixtral: the router and the experts (w1 gate, w3 up, w2 down) under block_sparse_moe. */
    private static final Map<String, String> MIXTRAL = Map.of("ffn_gate_inp.weight", "block_sparse_moe.gate.weight");
    private static final Map<String, String> MIXTRAL_EXPERTS = Map.of(
            "gate", "block_sparse_moe.experts.%d.w1.weight",
            "up", "block_sparse_moe.experts.%d.w3.weight",
            "down", "block_sparse_moe.experts.%d.w2.weight");

    /** Qwen 2/3 MoE and OLMoE: the router, the experts and Qwen 2 MoE's shared expert and its gate under mlp. */
    private static final Map<String, String> MLP_MOE = Map.of(
            "ffn_gate_inp.weight", "mlp.gate.weight",
            "ffn_gate_shexp.weight", "mlp.shared_expert.gate_proj.weight",
            "ffn_up_shexp.weight", "mlp.shared_expert.up_proj.weight",
            "ffn_down_shexp.weight", "mlp.shared_expert.down_proj.weight",
            "ffn_gate_inp_shexp.weight", "mlp.shared_expert_gate.weight");
    private static final Map<String, String> MLP_EXPERTS = Map.of(
            "gate", "mlp.experts.%d.gate_proj.weight",
            "up", "mlp.experts.%d.up_proj.weight",
            "down", "mlp.experts.%d.down_proj.weight");

    /** llama.cpp's one-tensor-per-expert names, which a checkpoint's experts are bound by. */
    private static final Pattern EXPERT = Pattern.compile("ffn_(gate|up|down)\\.(\\d+)\\.weight");

    private static final HfTensorNames COMMON = new HfTensorNames(LAYER, MIXTRAL_EXPERTS, TEXT_PREFIX, "lm_head.weight");

    private final Map<String, String> layer;
    /** An expert's gate, up and down projection names, with %d for the expert. */
    private final Map<String, String> experts;
    private final String prefix;
    private final String head;

    private HfTensorNames(Map<String, String> layer, Map<String, String> experts, String prefix, String head) {
        this.layer = layer;
        this.experts = experts;
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
            case "llama" -> MIXTRAL;
            case "qwen2moe", "qwen3moe", "olmoe" -> MLP_MOE;
            default -> Map.of();
        };
        Map<String, String> layer = new HashMap<>(LAYER);
        layer.putAll(own);
        return new HfTensorNames(Map.copyOf(layer), ggufArchitecture.equals("llama") ? MIXTRAL_EXPERTS : MLP_EXPERTS,
                prefix, head);
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
        Matcher expert = EXPERT.matcher(m.group(2));
        if (part == null && expert.matches()) {
            part = String.format(java.util.Locale.ROOT, experts.get(expert.group(1)), Integer.parseInt(expert.group(2)));
        }
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
