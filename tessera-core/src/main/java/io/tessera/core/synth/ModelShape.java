package io.tessera.core.synth;

import io.tessera.core.arch.Architectures;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The exact shapes of well-known models, so that synthetic random-weight files exercise kernels,
 * memory and parallel layouts at realistic sizes. Figures are those of each model's published
 * {@code config.json} on the Hugging Face hub.
 *
 * @param tiedEmbeddings whether the output head shares the token embedding
 */
public record ModelShape(String name, ModelConfig config, boolean tiedEmbeddings) {

    private static final Map<String, ModelShape> CATALOG = new LinkedHashMap<>();
    private static final String MISTRAL = "MistralForCausalLM";
    private static final String MIXTRAL = "MixtralForCausalLM";

    static {
        // meta-llama/Llama-3.2-1B: hidden 2048, intermediate 8192, 16 layers, 32/8 heads, rope theta 500000.
        add("llama-3.2-1b", "llama", 2048, 8192, 16, 32, 8, 64, 128256, 131072, 500000f, 1e-5f, true);
        // meta-llama/Llama-3.2-3B
        add("llama-3.2-3b", "llama", 3072, 8192, 28, 24, 8, 128, 128256, 131072, 500000f, 1e-5f, true);
        // meta-llama/Meta-Llama-3-8B: hidden 4096, intermediate 14336, 32 layers, 32/8 heads.
        add("llama-3-8b", "llama", 4096, 14336, 32, 32, 8, 128, 128256, 8192, 500000f, 1e-5f, false);
        // meta-llama/Llama-3.1-8B: the same weights' shape with a 128k context; `tessera plan`'s preset name
        add("llama-3.1-8b", "llama", 4096, 14336, 32, 32, 8, 128, 128256, 131072, 500000f, 1e-5f, false);
        // meta-llama/Llama-2-7b-hf
        add("llama-2-7b", "llama", 4096, 11008, 32, 32, 32, 128, 32000, 4096, 10000f, 1e-5f, false);
        // TinyLlama/TinyLlama-1.1B-Chat-v1.0: hidden 2048, intermediate 5632, 22 layers, 32/4 heads.
        add("tinyllama-1.1b", "llama", 2048, 5632, 22, 32, 4, 64, 32000, 2048, 10000f, 1e-5f, false);
        // Qwen/Qwen2.5-0.5B: hidden 896, intermediate 4864, 24 layers, 14/2 heads, QKV biases, tied.
        add("qwen2.5-0.5b", "qwen2", 896, 4864, 24, 14, 2, 64, 151936, 32768, 1000000f, 1e-6f, true);
        // Qwen/Qwen3-0.6B: hidden 1024, intermediate 3072, 28 layers, 16/8 heads of 128 (wider than
        // hidden / heads), per-head Q/K norm, rope theta 1000000, tied.
        add("qwen3-0.6b", "qwen3", 1024, 3072, 28, 16, 8, 128, 151936, 40960, 1000000f, 1e-6f, true);
        // google/gemma-3-1b-pt: hidden 1152, intermediate 6912, 26 layers, 4/1 heads of 256, local
        // layers with a window of 512 (rope base 10000), each sixth layer global (1e6), tied.
        add("gemma-3-1b", "gemma3", 1152, 6912, 26, 4, 1, 256, 262144, 32768, 1000000f, 1e-6f, true);
        withSlidingWindow("gemma-3-1b", 512);
        // microsoft/Phi-3-mini-4k-instruct: hidden 3072, intermediate 8192, 32 layers, 32/32 heads,
        // vocab 32064, context 4096, rope theta 10000; Q/K/V and gate/up fused in GGUF.
        add("phi-3-mini-4k", "phi3", 3072, 8192, 32, 32, 32, 96, 32064, 4096, 10000f, 1e-5f, false);
        // google/gemma-3-4b-it (text part): hidden 2560, intermediate 10240, 34 layers, 8/4 heads of
        // 256, window 1024, linear rope scaling 8 on the global layers, tied.
        add("gemma-3-4b", "gemma3", 2560, 10240, 34, 8, 4, 256, 262208, 131072, 1000000f, 1e-6f, true);
        withSlidingWindow("gemma-3-4b", 1024);
        withRopeScaling("gemma-3-4b", RopeScaling.linear(8f));
        // microsoft/Phi-3.5-mini-instruct: the same layer, 128k context by longrope over the original
        // 4096 (its factor lists are synthetic, the short ones near 1, the long ones up to ~9).
        add("phi-3.5-mini", "phi3", 3072, 8192, 32, 32, 32, 96, 32064, 131072, 10000f, 1e-5f, false);
        withRopeScaling("phi-3.5-mini", longrope(131072, 4096));
        // microsoft/Phi-4-mini-instruct: hidden 3072, intermediate 8192, 32 layers, 24/8 heads of 128
        // of which the first 96 rotate (partial_rotary_factor 0.75), vocab 200064, longrope, tied.
        add("phi-4-mini", "phi3", 3072, 8192, 32, 24, 8, 128, 200064, 131072, 10000f, 1e-5f, true);
        withRotaryDim("phi-4-mini", 96);
        withRopeScaling("phi-4-mini", longrope(131072, 4096));
        // Qwen/Qwen3-0.6B with the YaRN setting Qwen documents for long inputs (factor 4 over 32768).
        add("qwen3-0.6b-yarn", "qwen3", 1024, 3072, 28, 16, 8, 128, 151936, 131072, 1000000f, 1e-6f, true);
        withRopeScaling("qwen3-0.6b-yarn", RopeScaling.yarn(4f, 32768, RopeScaling.YARN_BETA_FAST,
                RopeScaling.YARN_BETA_SLOW, RopeScaling.yarnMagnitude(4f, 0f, 0f)));
        // A few-megabyte model with realistic head ratios (32 query heads over 8 KV heads), for tests.
        add("tiny-gqa", "llama", 256, 688, 4, 32, 8, 8, 512, 1024, 10000f, 1e-5f, false);
        // Few-megabyte models of the other layouts, for tests and quick checks: Gemma 3's local and
        // global layers (window 8, layer 5 global) and Phi-4-mini's partial rotary with longrope.
        add("tiny-gemma3", "gemma3", 64, 128, 6, 4, 1, 32, 512, 1024, 1000000f, 1e-6f, true);
        withSlidingWindow("tiny-gemma3", 8);
        add("tiny-phi4", "phi3", 64, 128, 2, 4, 2, 32, 512, 1024, 10000f, 1e-5f, true);
        withRotaryDim("tiny-phi4", 24);
        withRopeScaling("tiny-phi4", longrope(1024, 64));
        // mistralai/Mixtral-8x7B-v0.1: Mistral 7B's layer with 8 experts of 14336, 2 per token
        // (num_local_experts, num_experts_per_tok), rope theta 1e6; GGUF calls it llama
        add("mixtral-8x7b", "llama", 4096, 14336, 32, 32, 8, 128, 32000, 32768, 1000000f, 1e-5f, false);
        withExperts("mixtral-8x7b", MoeOptions.of(8, 2, 14336, true));
        // Qwen/Qwen3-30B-A3B: hidden 2048, 48 layers, 32/4 heads of 128, 128 experts of 768
        // (moe_intermediate_size), 8 per token, norm_topk_prob, untied
        add("qwen3-30b-a3b", "qwen3moe", 2048, 6144, 48, 32, 4, 128, 151936, 40960, 1000000f, 1e-6f, false);
        withExperts("qwen3-30b-a3b", MoeOptions.of(128, 8, 768, true));
        // Qwen/Qwen1.5-MoE-A2.7B: hidden 2048, 24 layers, 16/16 heads, 60 experts of 1408, 4 per token,
        // not renormalised, a gated shared expert of 5632
        add("qwen1.5-moe-a2.7b", "qwen2moe", 2048, 5632, 24, 16, 16, 128, 151936, 8192, 1000000f, 1e-6f, false);
        withExperts("qwen1.5-moe-a2.7b", MoeOptions.of(60, 4, 1408, false).withSharedExpert(5632, true));
        // allenai/OLMoE-1B-7B-0924: hidden 2048, 16 layers, 16/16 heads of 128, 64 experts of 1024
        // (intermediate_size), 8 per token, not renormalised, Q/K norm over the whole projection
        add("olmoe-1b-7b", "olmoe", 2048, 1024, 16, 16, 16, 128, 50304, 4096, 10000f, 1e-5f, false);
        withExperts("olmoe-1b-7b", MoeOptions.of(64, 8, 1024, false));
        // A few-megabyte Mixtral-style model (8 experts, 2 per token), for tests and quick checks.
        add("tiny-moe", "llama", 64, 128, 2, 4, 2, 16, 512, 1024, 10000f, 1e-5f, false);
        withExperts("tiny-moe", MoeOptions.of(8, 2, 128, true));
    }

    private static void withExperts(String name, MoeOptions moe) {
        ModelShape s = CATALOG.get(name);
        CATALOG.put(name, new ModelShape(name, s.config.withMoe(moe), s.tiedEmbeddings));
    }

    private static RopeScaling longrope(int context, int original) {
        float factor = (float) context / original;
        return RopeScaling.longrope(factor, original, RopeScaling.longropeMagnitude(factor, original));
    }

    private static void withRopeScaling(String name, RopeScaling scaling) {
        ModelShape s = CATALOG.get(name);
        CATALOG.put(name, new ModelShape(name, s.config.withRope(s.config.ropeStyle(), scaling), s.tiedEmbeddings));
    }

    private static void withRotaryDim(String name, int dim) {
        ModelShape s = CATALOG.get(name);
        CATALOG.put(name, new ModelShape(name, s.config.withAttention(s.config.attention().withRotaryDim(dim)),
                s.tiedEmbeddings));
    }

    private static void add(String name, String arch, int dim, int hidden, int layers, int heads, int kvHeads,
            int headDim, int vocab, int ctx, float theta, float eps, boolean tied) {
        // the family sets its own rotary pairing and attention options
        ModelConfig common = new ModelConfig(arch, dim, hidden, layers, heads, kvHeads, headDim, vocab, ctx, theta,
                RopeStyle.INTERLEAVED, eps);
        CATALOG.put(name, new ModelShape(name, Architectures.named(arch).configure(common), tied));
    }

    private static void withSlidingWindow(String name, int window) {
        ModelShape s = CATALOG.get(name);
        CATALOG.put(name, new ModelShape(name, s.config.withAttention(s.config.attention().withSlidingWindow(window)),
                s.tiedEmbeddings));
    }

    public static ModelShape named(String name) {
        ModelShape s = CATALOG.get(name.toLowerCase(java.util.Locale.ROOT));
        if (s == null) {
            throw new IllegalArgumentException("unknown model shape '" + name + "' (known: "
                    + String.join(", ", CATALOG.keySet()) + ")");
        }
        return s;
    }

    public static Iterable<String> names() {
        return CATALOG.keySet();
    }

    /** The same shape with another vocabulary size (e.g. that of a given tokenizer). */
    public ModelShape withVocabulary(int vocabSize) {
        return new ModelShape(name, config.withVocabSize(vocabSize), tiedEmbeddings);
    }

    /** The same shape with fewer or more layers, for quick experiments at realistic widths. */
    public ModelShape withLayers(int layers) {
        return new ModelShape(name, config.withLayers(layers), tiedEmbeddings);
    }

    /**
     * The {@code architectures} entry a checkpoint of this shape names: {@code MistralForCausalLM}
     * for a Llama-family shape named after Mistral, {@code MixtralForCausalLM} for one with experts,
     * else the family's first Hugging Face name.
     */
    public String huggingFaceArchitecture() {
        List<String> names = Architectures.named(config.architecture()).huggingFaceNames();
        if (config.moe().enabled() && names.contains(MIXTRAL)) {
            return MIXTRAL;
        }
        return name.startsWith("mistral") && names.contains(MISTRAL) ? MISTRAL : names.get(0);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(new int[] {config.dim(), config.layers(), config.heads(), config.kvHeads()});
    }
}
