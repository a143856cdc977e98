package io.tessera.planner.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import java.util.Set;

/** Maps the fields of a Hugging Face config.json (several families' spellings) to a {@link ModelSpec}. */
final class HfConfig {

    /** Families whose feed-forward is two matrices with a plain activation rather than SwiGLU. */
    private static final Set<String> UNGATED = Set.of("gpt2", "gptj", "gpt_neox", "opt", "bloom", "falcon", "phi",
            "starcoder2", "gpt_bigcode");

    private HfConfig() {
    }

    static ModelSpec parse(String name, JsonNode c) {
        if (c == null || !c.isObject()) {
            throw new IllegalArgumentException(name + ": config is not a JSON object");
        }
        String where = "config of " + name;
        String type = c.path("model_type").asText("").toLowerCase(Locale.ROOT);
        int hidden = ModelCatalog.require(c, where, "hidden_size", "n_embd", "d_model");
        int layers = ModelCatalog.require(c, where, "num_hidden_layers", "num_layers", "n_layer");
        int heads = ModelCatalog.require(c, where, "num_attention_heads", "n_head");
        boolean chatglm1 = type.equals("chatglm") && c.has("inner_hidden_size");
        boolean mqa = c.path("multi_query_attention").asBoolean(false);
        int kvHeads = ModelCatalog.optional(c, heads, "num_key_value_heads", "multi_query_group_num", "n_head_kv");
        if (type.equals("chatglm") && !mqa && !chatglm1 && !c.has("num_key_value_heads")) {
            kvHeads = heads;
        }
        int headDim = ModelCatalog.optional(c, hidden / heads, "head_dim", "kv_channels");
        int inter = ModelCatalog.optional(c, 4 * hidden, "intermediate_size", "inner_hidden_size", "ffn_hidden_size", "n_inner");
        int vocab = ModelCatalog.require(c, where, "vocab_size", "padded_vocab_size");
        int maxCtx = ModelCatalog.optional(c, 4096, "max_position_embeddings", "max_sequence_length", "seq_length", "n_positions");
        boolean tied = c.path("tie_word_embeddings").asBoolean(false);
        boolean gated = !(chatglm1 || UNGATED.contains(type));
        boolean qkvBias = type.startsWith("qwen2") || type.equals("chatglm") || c.path("attention_bias").asBoolean(false)
                || c.path("add_qkv_bias").asBoolean(false);
        int experts = ModelCatalog.optional(c, 0, "num_local_experts", "n_routed_experts", "num_experts");
        int perTok = experts > 0 ? ModelCatalog.require(c, where, "num_experts_per_tok", "moe_topk", "top_k") : 0;
        int shared = ModelCatalog.optional(c, 0, "n_shared_experts");
        int moeInter = experts > 0 ? ModelCatalog.optional(c, inter, "moe_intermediate_size") : 0;
        int dense = experts > 0 ? ModelCatalog.optional(c, 0, "first_k_dense_replace") : 0;
        int kvLora = ModelCatalog.optional(c, 0, "kv_lora_rank");
        int qLora = ModelCatalog.optional(c, 0, "q_lora_rank");
        int nope = ModelCatalog.optional(c, 0, "qk_nope_head_dim");
        int rope = ModelCatalog.optional(c, 0, "qk_rope_head_dim");
        int vDim = ModelCatalog.optional(c, 0, "v_head_dim");
        if (kvLora > 0) {
            headDim = vDim;
        }
        return new ModelSpec(name, hidden, layers, heads, kvHeads, headDim, inter, vocab, tied, gated, qkvBias, maxCtx,
                experts, perTok, shared, moeInter, dense, qLora, kvLora, nope, rope, vDim, 0);
    }
}
