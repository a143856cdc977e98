package io.tessera.cluster;

import io.tessera.core.arch.Architectures;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.model.WeightTypes;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.EngineCore;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.RequestOutput;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Shared pieces of the cluster tests: synthetic model files, prompts, and a greedy engine run. */
final class ClusterTestSupport {

    private ClusterTestSupport() {
    }

    /** tiny-gqa (dim 256, 32 query heads over 8 KV heads, FFN 688) with 4 layers, vocab 512. */
    static Path tinyGqa(Path dir, String type) throws IOException {
        Path p = dir.resolve("tiny-gqa-" + type + ".gguf");
        if (!Files.exists(p)) {
            SyntheticModel.write(p, ModelShape.named("tiny-gqa").withLayers(4), SyntheticVocabulary.generate(512, 7),
                    WeightTypes.parse(type), 11);
        }
        return p;
    }

    /**
     * A Qwen2-style model (Q/K/V biases, NeoX rotary, tied embeddings) with only 2 KV heads under 8
     * query heads, so that tp 4 replicates KV heads: dim 128, FFN 344, 3 layers, vocab 512.
     */
    static Path qwenKv2(Path dir) throws IOException {
        Path p = dir.resolve("qwen-kv2.gguf");
        if (!Files.exists(p)) {
            ModelShape shape = new ModelShape("qwen-kv2", Architectures.named("qwen2").configure(new ModelConfig("qwen2",
                    128, 344, 3, 8, 2, 16, 512, 512, 1000000f, RopeStyle.NEOX, 1e-6f)), true);
            SyntheticModel.write(p, shape, SyntheticVocabulary.generate(512, 5), WeightTypes.parse("F32"), 13);
        }
        return p;
    }

    /**
     * A Qwen3-style model (per-head Q/K RMSNorm, NeoX rotary, no biases, tied embeddings) whose 8
     * heads of 32 are wider than its embedding of 128, as in Qwen 3: FFN 344, 3 layers, vocab 512.
     */
    /**
     * A Qwen 2 MoE-style model in F32: 8 experts of 72 (36 and 18 per rank at tp 2 and 4), 2 per
     * token, and a gated shared expert of 96.
     */
    static Path qwen2moe(Path dir) throws IOException {
        Path p = dir.resolve("qwen2moe-small.gguf");
        if (!Files.exists(p)) {
            ModelConfig c = Architectures.named("qwen2moe").configure(new ModelConfig(
                    "qwen2moe", 128, 344, 4, 8, 4, 16, 512, 512, 1000000f, RopeStyle.NEOX, 1e-6f));
            ModelShape shape = new ModelShape("qwen2moe-small",
                    c.withMoe(MoeOptions.of(8, 2, 72, false).withSharedExpert(96, true)), false);
            SyntheticModel.write(p, shape, SyntheticVocabulary.generate(512, 8), WeightTypes.parse("F32"), 19);
        }
        return p;
    }

    /** The synthetic tiny-moe shape (Mixtral-style: llama with 8 experts of 128, 2 per token), 2 layers, vocab 512. */
    static Path tinyMoe(Path dir, String type) throws IOException {
        Path p = dir.resolve("tiny-moe-" + type + ".gguf");
        if (!Files.exists(p)) {
            SyntheticModel.write(p, ModelShape.named("tiny-moe"), SyntheticVocabulary.generate(512, 7),
                    WeightTypes.parse(type), 29);
        }
        return p;
    }

    /**
     * An OLMoE-style model (Q/K norm over the whole projection, so no tensor parallelism): dim 128,
     * 8 heads, 16 experts of 64, 4 per token, 4 layers, vocab 512.
     */
    static Path olmoe(Path dir) throws IOException {
        Path p = dir.resolve("olmoe-small.gguf");
        if (!Files.exists(p)) {
            ModelConfig c = Architectures.named("olmoe").configure(new ModelConfig(
                    "olmoe", 128, 344, 4, 8, 8, 16, 512, 512, 10000f, RopeStyle.NEOX, 1e-5f));
            ModelShape shape = new ModelShape("olmoe-small", c.withMoe(MoeOptions.of(16, 4, 64, false)), false);
            SyntheticModel.write(p, shape, SyntheticVocabulary.generate(512, 9), WeightTypes.parse("Q8_0"), 31);
        }
        return p;
    }

    static Path qwen3(Path dir) throws IOException {
        Path p = dir.resolve("qwen3-small.gguf");
        if (!Files.exists(p)) {
            // with YaRN over an original context of 128: every rank rotates with the same ramp and magnitude
            ModelConfig c = Architectures.named("qwen3").configure(new ModelConfig(
                    "qwen3", 128, 344, 3, 8, 4, 32, 512, 512, 1000000f, RopeStyle.NEOX, 1e-6f));
            ModelShape shape = new ModelShape("qwen3-small", c.withRope(RopeStyle.NEOX, RopeScaling.yarn(4f, 128,
                    RopeScaling.YARN_BETA_FAST, RopeScaling.YARN_BETA_SLOW, RopeScaling.yarnMagnitude(4f, 0f, 0f))),
                    true);
            SyntheticModel.write(p, shape, SyntheticVocabulary.generate(512, 6), WeightTypes.parse("F32"), 17);
        }
        return p;
    }

    /**
     * A Gemma3-style model (scaled embeddings, post-block norms, GeGLU, Q/K norm) of 7 layers with a
     * window of 4, so that layer 5 is global and a pipeline split puts local and global layers on
     * both stages: embedding 128, 8 heads of 32 over 2 KV heads, FFN 344, vocab 512.
     */
    static Path gemma3(Path dir) throws IOException {
        Path p = dir.resolve("gemma3-small.gguf");
        if (!Files.exists(p)) {
            ModelConfig c = Architectures.named("gemma3").configure(new ModelConfig("gemma3", 128, 344, 7, 8, 2, 32,
                    512, 512, 1000000f, RopeStyle.NEOX, 1e-6f));
            ModelShape shape = new ModelShape("gemma3-small", c.withAttention(c.attention().withSlidingWindow(4)), true);
            SyntheticModel.write(p, shape, SyntheticVocabulary.generate(512, 7), WeightTypes.parse("F32"), 19);
        }
        return p;
    }

    /**
     * A Phi-4-mini-style model (fused attn_qkv and ffn_up in the file, 12 of 16 head dimensions
     * rotated, longrope past an original context of 128): embedding 128, 8 heads of 16, FFN 344, 3 layers.
     */
    static Path phi3(Path dir) throws IOException {
        Path p = dir.resolve("phi3-small.gguf");
        if (!Files.exists(p)) {
            ModelConfig c = Architectures.named("phi3").configure(new ModelConfig("phi3",
                    128, 344, 3, 8, 8, 16, 512, 512, 10000f, RopeStyle.NEOX, 1e-5f));
            ModelShape shape = new ModelShape("phi3-small", c.withAttention(c.attention().withRotaryDim(12))
                    .withRope(RopeStyle.NEOX, RopeScaling.longrope(4f, 128, RopeScaling.longropeMagnitude(4f, 128))),
                    false);
            SyntheticModel.write(p, shape, SyntheticVocabulary.generate(512, 8), WeightTypes.parse("F32"), 23);
        }
        return p;
    }

    static int[][] prompts(long seed, int vocab, int... lengths) {
        Random rnd = new Random(seed);
        int[][] p = new int[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            p[i] = new int[lengths[i]];
            for (int j = 0; j < lengths[i]; j++) {
                p[i][j] = 3 + rnd.nextInt(vocab - 3);
            }
        }
        return p;
    }

    /** Failed requests of a run, by request index. */
    record Run(List<int[]> tokens, List<String> errors) {
    }

    /**
     * All prompts submitted at once to an engine over {@code executor}, greedy, EOS ignored; small
     * token budgets per step so that prompts are chunked and mixed with decodes.
     */
    static Run greedy(Executor executor, int[][] prompts, int maxTokens) {
        EngineCore core = new EngineCore(executor, new EngineConfig(new SchedulerConfig(24, 8, 0.01), true,
                new int[0]), null);
        List<List<Integer>> out = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            List<Integer> mine = new ArrayList<>();
            out.add(mine);
            errors.add(null);
            int idx = i;
            core.add(new GenerateRequest("r" + i, prompts[i], GenerateParams.greedy(maxTokens).withIgnoreEos(true)),
                    (RequestOutput o) -> {
                        for (int t : o.tokenIds()) {
                            mine.add(t);
                        }
                        if (o.error() != null) {
                            errors.set(idx, o.error());
                        }
                    });
        }
        while (core.hasWork()) {
            core.step();
        }
        List<int[]> tokens = new ArrayList<>();
        for (List<Integer> l : out) {
            tokens.add(l.stream().mapToInt(Integer::intValue).toArray());
        }
        return new Run(tokens, errors);
    }
}
