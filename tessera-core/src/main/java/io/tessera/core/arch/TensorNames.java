package io.tessera.core.arch;

/**
 * llama.cpp's tensor names (its {@code LLM_TENSOR_NAMES}), the names every family binds its weights
 * by and the GGUF writer writes. A format with other names (a Hugging Face checkpoint) is mapped
 * to these.
 */
public final class TensorNames {

    public static final String TOKEN_EMBEDDING = "token_embd.weight";
    public static final String OUTPUT_NORM = "output_norm.weight";
    public static final String OUTPUT = "output.weight";
    /** Phi-3 longrope: the frequency divisors past the original context, and within it. */
    public static final String ROPE_FACTORS_LONG = "rope_factors_long.weight";
    public static final String ROPE_FACTORS_SHORT = "rope_factors_short.weight";
    /** Llama 3.1+: the divisor of each rotary pair's frequency. */
    public static final String ROPE_FREQUENCIES = "rope_freqs.weight";

    private TensorNames() {
    }

    public static String block(int layer, String part) {
        return "blk." + layer + "." + part;
    }

    public static String attnNorm(int layer) {
        return block(layer, "attn_norm.weight");
    }

    public static String attnQ(int layer) {
        return block(layer, "attn_q.weight");
    }

    public static String attnK(int layer) {
        return block(layer, "attn_k.weight");
    }

    public static String attnV(int layer) {
        return block(layer, "attn_v.weight");
    }

    public static String attnOutput(int layer) {
        return block(layer, "attn_output.weight");
    }

    /** Phi-3: Q, K and V stacked as one matrix, rows in that order. */
    public static String attnQkv(int layer) {
        return block(layer, "attn_qkv.weight");
    }

    public static String attnQBias(int layer) {
        return block(layer, "attn_q.bias");
    }

    public static String attnKBias(int layer) {
        return block(layer, "attn_k.bias");
    }

    public static String attnVBias(int layer) {
        return block(layer, "attn_v.bias");
    }

    public static String attnQNorm(int layer) {
        return block(layer, "attn_q_norm.weight");
    }

    public static String attnKNorm(int layer) {
        return block(layer, "attn_k_norm.weight");
    }

    /** Gemma 2 and 3: the RMSNorm of the attention block's output. */
    public static String attnPostNorm(int layer) {
        return block(layer, "post_attention_norm.weight");
    }

    /** Gemma 2 and 3: the RMSNorm of the feed-forward block's output. */
    public static String ffnPostNorm(int layer) {
        return block(layer, "post_ffw_norm.weight");
    }

    public static String ffnNorm(int layer) {
        return block(layer, "ffn_norm.weight");
    }

    public static String ffnGate(int layer) {
        return block(layer, "ffn_gate.weight");
    }

    public static String ffnUp(int layer) {
        return block(layer, "ffn_up.weight");
    }

    public static String ffnDown(int layer) {
        return block(layer, "ffn_down.weight");
    }

    /** A mixture-of-experts layer's router: one row of {@code dim} weights per expert. */
    public static String ffnGateInp(int layer) {
        return block(layer, "ffn_gate_inp.weight");
    }

    /** Every expert's gate projection stacked in one 3-D tensor, {@code {dim, expertHidden, experts}}. */
    public static String ffnGateExps(int layer) {
        return block(layer, "ffn_gate_exps.weight");
    }

    public static String ffnUpExps(int layer) {
        return block(layer, "ffn_up_exps.weight");
    }

    /** Every expert's down projection, {@code {expertHidden, dim, experts}}. */
    public static String ffnDownExps(int layer) {
        return block(layer, "ffn_down_exps.weight");
    }

    /** Expert {@code expert}'s gate projection in the older one-tensor-per-expert layout (early Mixtral files). */
    public static String ffnGateExpert(int layer, int expert) {
        return block(layer, "ffn_gate." + expert + ".weight");
    }

    public static String ffnUpExpert(int layer, int expert) {
        return block(layer, "ffn_up." + expert + ".weight");
    }

    public static String ffnDownExpert(int layer, int expert) {
        return block(layer, "ffn_down." + expert + ".weight");
    }

    /** The shared expert of a mixture-of-experts layer (Qwen 2 MoE). */
    public static String ffnGateShared(int layer) {
        return block(layer, "ffn_gate_shexp.weight");
    }

    public static String ffnUpShared(int layer) {
        return block(layer, "ffn_up_shexp.weight");
    }

    public static String ffnDownShared(int layer) {
        return block(layer, "ffn_down_shexp.weight");
    }

    /** Qwen 2 MoE: the shared expert's gate, {@code dim} weights giving one logit per token. */
    public static String ffnGateInpShared(int layer) {
        return block(layer, "ffn_gate_inp_shexp.weight");
    }
}
