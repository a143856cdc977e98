package io.tessera.core.crosscheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
import io.tessera.core.arch.ReferenceDecoder;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every family Tessera runs, against current llama.cpp (node-llama-cpp's prebuilt CPU binaries, see
 * {@link LlamaCppNode}): a small synthetic model of the family's layout is written as GGUF in F32
 * and Q8_0, a random prompt is evaluated by both engines, and the logits at every position must
 * agree, as must the greedy continuation. For the families with a Hugging Face checkpoint form, the
 * same weights written as a checkpoint directory and run by Tessera must agree with llama.cpp's run
 * of the GGUF as well. llama.cpp runs with an F32 KV cache and without flash attention, so the
 * remaining differences are the arithmetic itself. Measured figures: docs/crosscheck.md.
 */
class LlamaCppLogitsTest {

    private static final int VOCAB = 512;
    private static final int PROMPT = 40;
    private static final int GENERATE = 32;
    private static final long SEED = 11;
    private static final int TESSERA_THREADS = 2;
    /** One: llama.cpp's idle threads spin, which on a busy shared machine slows the run tenfold. */
    private static final int LLAMA_CPP_THREADS = 1;

    /*
     * Measured with node-llama-cpp 3.22.1 (llama.cpp's zen4 CPU variant, AMD EPYC Zen 5), F32 KV
     * cache, max |Tessera − llama.cpp| / max |logit| over a row, worst row of the prompt and of the
     * continuation:
     *   F32, SwiGLU families (Llama, Mistral, Qwen 2.5, Qwen 3, Phi-3): 5.0e-7 … 1.1e-6, from GGUF and
     *     from a checkpoint directory alike; every argmax and all 32 greedy tokens agree. Float rounding
     *     in another order, nothing more.
     *   F32, Gemma 3: 4.9e-4 … 6.2e-4. llama.cpp's CPU GELU rounds its input to F16 and reads the
     *     result from an F16 table (GGML_GELU_FP16); doing the same in Tessera halved the difference.
     *   Q8_0: 3.0e-2 … 4.9e-2. llama.cpp rounds the activations to 8 bits per block of 32 (Q8_0)
     *     before each dot product with Q8_0 weights; Tessera keeps them in F32. The argmax differs at
     *     0 or 1 of the 40 positions, at a margin of at most 3.4e-3; greedy continuations agree on 9 to
     *     32 of 32 tokens and part where the two top tokens are within 1.5e-2 (Tessera) and 1.9e-2
     *     (llama.cpp) of each other.
     * The bounds below are 2 to 4 times those. A wrong rope, norm, window, bias or weight layout moves
     * the logits by tenths of the largest one, far outside them.
     */
    private static final double F32_TOLERANCE = 4e-6;
    private static final double GEGLU_F32_TOLERANCE = 2e-3;
    private static final double Q8_0_TOLERANCE = 0.1;
    /** The largest margin, relative to the largest logit, at which the engines may choose differently. */
    private static final double MAX_TIE = 4e-2;
    /** Q8_0 prompt positions whose argmax may differ, each at a tie. */
    private static final int MAX_ARGMAX_FLIPS = 3;
    /**
     * A mixture of experts in Q8_0: the smallest {@code ln(p_k / p_k+1)} at which the engines are
     * held to choose the same experts (measured: llama.cpp's 8-bit activations moved a layer-0
     * choice of Mixtral at a margin of 0.043), and the fewest prompt positions before the first
     * narrower one that the prompt chosen among {@link #PROMPT_CANDIDATES} must give.
     */
    private static final double ROUTING_TIE = 0.1;
    private static final int MIN_TIE_FREE_POSITIONS = 8;
    private static final int PROMPT_CANDIDATES = 16;
    /** Q8_0 greedy tokens that must agree before the engines may part at a tie. */
    private static final int MIN_GREEDY_Q8_0 = 4;

    /**
     * The families, each a small model of its real layout. A row is one line; a family whose
     * architecture names a Hugging Face form is checked from a checkpoint directory too.
     */
    static List<ModelShape> families() {
        return List.of(
                // Llama 3.2: rope scaling llama3 with its published factors, tied embeddings
                shape("llama-3.2", "llama", 128, 8, 2, 16, 4, true, 500000f,
                        c -> c.withRope(c.ropeStyle(), RopeScaling.llama3(32f, 1f, 4f, 8192))),
                // Mistral 7B: Llama's layer, untied, rope base 1e6 (GGUF calls it llama too); its checkpoint
                // says MistralForCausalLM with a sliding window (v0.1: 4096; here 8, inside the prompt) that
                // both files carry and neither llama.cpp nor Tessera applies
                shape("mistral", "llama", 128, 8, 2, 16, 4, false, 1000000f,
                        c -> c.withAttention(c.attention().withSlidingWindow(8))),
                // Qwen 2.5: Q/K/V biases, tied
                shape("qwen2.5", "qwen2", 128, 8, 2, 16, 4, true, 1000000f, c -> c),
                // Qwen 3: per-head Q/K norm, heads wider than dim / heads
                shape("qwen3", "qwen3", 128, 8, 4, 32, 4, true, 1000000f, c -> c),
                // Gemma 3 1B: window 8 on a 40-token prompt; layer 5 of 7 is the global one
                shape("gemma3", "gemma3", 128, 4, 1, 32, 7, true, 1000000f,
                        c -> c.withAttention(c.attention().withSlidingWindow(8))),
                // Gemma 3 with a final logit soft-cap (no released Gemma 3 sets one, llama.cpp reads it),
                // low enough that the largest logits bend
                shape("gemma3-softcap", "gemma3", 128, 4, 1, 32, 7, true, 1000000f,
                        c -> c.withAttention(c.attention().withSlidingWindow(8)).withFinalLogitSoftcap(8f)),
                // Gemma 3 4B and larger: the global layers' rope is scaled linearly by 8
                shape("gemma3-rope-linear", "gemma3", 128, 4, 2, 32, 7, true, 1000000f,
                        c -> c.withAttention(c.attention().withSlidingWindow(8))
                                .withRope(c.ropeStyle(), RopeScaling.linear(8f))),
                // Gemma 3 with every layer global: no window key, as llama.cpp's converter writes a
                // checkpoint whose sliding_window_pattern is 1
                shape("gemma3-global", "gemma3", 128, 4, 1, 32, 7, true, 1000000f, c -> c),
                // Gemma 3 with its period and local rope base read from the file: layers 2 and 5 of 7
                // global (attention.sliding_window_pattern 3), the local ones rotating with base 20000
                // (rope.freq_base_swa)
                shape("gemma3-pattern3", "gemma3", 128, 4, 1, 32, 7, true, 1000000f,
                        c -> c.withAttention(c.attention().withSlidingWindow(8).withLocalLayers(3, 20000f))),
                // Phi-3 mini: fused Q/K/V and gate/up, full multi-head attention, untied
                shape("phi3", "phi3", 128, 8, 8, 16, 4, false, 10000f, c -> c));
    }

    /**
     * The mixture-of-experts families, each a small model of its real layout: experts as stacked
     * 3-D tensors, the router kept F32 in the Q8_0 file as llama.cpp's quantizer keeps it.
     */
    static List<ModelShape> expertFamilies() {
        return List.of(
                // Mixtral: llama with experts of feed_forward_length, 2 per token, renormalised
                shape("mixtral", "llama", 128, 8, 2, 16, 2, false, 1000000f,
                        c -> c.withMoe(MoeOptions.of(4, 2, c.hiddenDim(), true))),
                // Qwen 1.5 / 2 MoE: experts of 64, 2 per token, not renormalised, a gated shared expert
                shape("qwen2moe", "qwen2moe", 128, 8, 2, 16, 2, false, 1000000f,
                        c -> c.withMoe(MoeOptions.of(4, 2, 64, false).withSharedExpert(192, true))),
                // Qwen 3 MoE: experts of 64, 2 per token, renormalised, per-head Q/K norm
                shape("qwen3moe", "qwen3moe", 128, 8, 4, 32, 2, false, 1000000f,
                        c -> c.withMoe(MoeOptions.of(4, 2, 64, true))),
                // OLMoE: Q/K norm over the whole projection, experts of feed_forward_length, not renormalised
                shape("olmoe", "olmoe", 128, 8, 8, 16, 2, false, 10000f,
                        c -> c.withMoe(MoeOptions.of(4, 2, c.hiddenDim(), false))));
    }

    static Stream<Arguments> expertCases() {
        return expertFamilies().stream().flatMap(f -> Stream.of(Arguments.of(f, "F32"), Arguments.of(f, "Q8_0")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("expertCases")
    void mixtureOfExpertsAgreesWithLlamaCpp(ModelShape shape, String type) throws Exception {
        logitsAndGreedyContinuationAgreeWithLlamaCpp(shape, type);
    }

    /**
     * Prompt positions before the first routing tie: where the reference decoder's narrowest margin
     * between the last chosen and the first left-out expert is below {@link #ROUTING_TIE}, 8-bit
     * rounding of activations may send the token to another expert, which changes its output by
     * tenths and, through its keys and values, every later position. F32 and dense models: all.
     */
    private static int positionsBeforeRoutingTie(Model m, int[] prompt, String type) {
        if (type.equals("F32") || !m.config().moe().enabled()) {
            return prompt.length;
        }
        ReferenceDecoder reference = new ReferenceDecoder(m);
        reference.logits(prompt);
        double[] margins = reference.routingMargins();
        int p = 0;
        while (p < margins.length && margins[p] >= ROUTING_TIE) {
            p++;
        }
        return p;
    }

    private static ModelShape shape(String name, String arch, int dim, int heads, int kvHeads, int headDim, int layers,
            boolean tied, float theta, UnaryOperator<ModelConfig> options) {
        ModelConfig common = new ModelConfig(arch, dim, 3 * dim, layers, heads, kvHeads, headDim, VOCAB, 256, theta,
                RopeStyle.INTERLEAVED, 1e-6f);
        return new ModelShape(name, options.apply(Architectures.named(arch).configure(common)), tied);
    }

    static Stream<Arguments> cases() {
        return families().stream().flatMap(f -> Stream.of(Arguments.of(f, "F32"), Arguments.of(f, "Q8_0")));
    }

    @TempDir
    static Path dir;

    private static LlamaCppNode llamaCpp;
    private static Parallel parallel;
    private static final List<String> REPORT = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        llamaCpp = LlamaCppNode.install();
        parallel = new Parallel(TESSERA_THREADS);
    }

    @AfterAll
    static void tearDown() {
        if (parallel != null) {
            parallel.close();
        }
        if (!REPORT.isEmpty()) {
            System.out.println("llama.cpp cross-check, logits (" + PROMPT + "-token prompt, vocabulary " + VOCAB + ", "
                    + GENERATE + " greedy tokens):");
            REPORT.forEach(System.out::println);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void logitsAndGreedyContinuationAgreeWithLlamaCpp(ModelShape shape, String type) throws Exception {
        Path gguf = dir.resolve(shape.name() + "-" + type + ".gguf");
        SyntheticModel.write(gguf, shape, SyntheticVocabulary.generate(VOCAB, SEED), WeightTypes.parse(type), SEED);
        int[] prompt = new Random(shape.name().hashCode()).ints(PROMPT, 3, VOCAB).toArray();
        int compared;
        try (Model m = ModelLoader.load(gguf)) {
            compared = positionsBeforeRoutingTie(m, prompt, type);
            // of a few seeded prompts, the one whose routing stays clear of ties longest
            for (int c = 1; c < PROMPT_CANDIDATES && compared < PROMPT; c++) {
                int[] candidate = new Random(shape.name().hashCode() + c).ints(PROMPT, 3, VOCAB).toArray();
                int clear = positionsBeforeRoutingTie(m, candidate, type);
                if (clear > compared) {
                    prompt = candidate;
                    compared = clear;
                }
            }
        }
        assertTrue(compared >= MIN_TIE_FREE_POSITIONS, shape.name() + " " + type + ": every prompt tried has a"
                + " routing tie within " + compared + " positions");
        LlamaCppNode.Result theirs = llamaCpp.logits(gguf, prompt, GENERATE, LLAMA_CPP_THREADS);
        assertEquals(PROMPT, theirs.promptLogits().length, "llama.cpp's logit rows");
        Run ours;
        try (Model m = ModelLoader.load(gguf)) {
            ours = run(m, prompt);
        }
        compare(shape.name() + " " + type + " GGUF", ours, theirs, shape, type, compared);
        if (type.equals("F32") && hasCheckpointForm(shape)) {
            Path hf = dir.resolve(shape.name() + "-hf");
            SyntheticModel.writeCheckpoint(hf, shape, SafetensorsDtype.F32, SEED);
            try (Model m = ModelLoader.load(hf)) {
                compare(shape.name() + " F32 checkpoint", run(m, prompt), theirs, shape, type, PROMPT);
            }
        }
    }

    private static boolean hasCheckpointForm(ModelShape shape) {
        return !Architectures.named(shape.config().architecture()).huggingFaceNames().isEmpty();
    }

    /** Tessera's logits at every prompt position, its greedy tokens, and the logits that chose each. */
    private record Run(float[][] promptLogits, int[] generated, float[][] stepLogits) {
    }

    private static Run run(Model m, int[] prompt) {
        int vocab = m.config().vocabSize();
        int blockSize = 16;
        int[] blocks = new int[(PROMPT + GENERATE + blockSize - 1) / blockSize];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = i;
        }
        KvCache cache = new F32KvCache(m.config(), blocks.length, blockSize);
        DecoderForward forward = new DecoderForward(m, parallel);
        float[] all = forward.forward(ForwardBatch.single(blocks, prompt, 0, ForwardBatch.Logits.ALL), cache);
        float[][] rows = new float[prompt.length][];
        for (int p = 0; p < prompt.length; p++) {
            rows[p] = java.util.Arrays.copyOfRange(all, p * vocab, (p + 1) * vocab);
        }
        int[] generated = new int[GENERATE];
        float[][] steps = new float[GENERATE][];
        steps[0] = rows[prompt.length - 1];
        for (int s = 0; s < GENERATE; s++) {
            generated[s] = argmax(steps[s]);
            if (s + 1 < GENERATE) {
                steps[s + 1] = forward.forward(ForwardBatch.single(blocks, new int[] {generated[s]}, PROMPT + s,
                        ForwardBatch.Logits.LAST), cache);
            }
        }
        return new Run(rows, generated, steps);
    }

    /**
     * Compares the first {@code compared} prompt positions and, when that is the whole prompt, the
     * greedy continuation; past a routing tie (a mixture of experts in Q8_0) the rest is reported only.
     */
    private static void compare(String label, Run ours, LlamaCppNode.Result theirs, ModelShape shape, String type,
            int compared) {
        boolean exact = type.equals("F32");
        double tolerance = !exact ? Q8_0_TOLERANCE
                : shape.config().feedForward() == FeedForwardKind.GEGLU ? GEGLU_F32_TOLERANCE : F32_TOLERANCE;
        double worst = 0;
        int argmaxAgree = 0;
        double worstTie = 0;
        double largest = 0;
        for (int p = 0; p < compared; p++) {
            float[] a = ours.promptLogits()[p];
            float[] b = theirs.promptLogits()[p];
            assertEquals(a.length, b.length, label + ": vocabulary");
            worst = Math.max(worst, relativeDifference(a, b));
            largest = Math.max(largest, maxAbs(b));
            int oa = argmax(a);
            int ob = argmax(b);
            if (oa == ob) {
                argmaxAgree++;
            } else {
                worstTie = Math.max(worstTie, (a[oa] - a[ob]) / maxAbs(a));
            }
        }
        int agreed = 0;
        while (agreed < GENERATE && ours.generated()[agreed] == theirs.generated()[agreed]) {
            agreed++;
        }
        String parting = "";
        double ourTie = 0;
        double theirTie = 0;
        if (agreed < GENERATE) {
            // both engines saw the same tokens up to here: each one's margin between the two choices
            float[] a = ours.stepLogits()[agreed];
            float[] b = theirs.logitsBefore(agreed);
            int oa = ours.generated()[agreed];
            int ob = theirs.generated()[agreed];
            ourTie = (a[oa] - a[ob]) / maxAbs(a);
            theirTie = (b[ob] - b[oa]) / maxAbs(b);
            parting = String.format(Locale.ROOT, ", parting at a tie of %.2e (Tessera) / %.2e (llama.cpp)", ourTie,
                    theirTie);
        }
        double worstStep = 0;
        for (int s = 0; s <= Math.min(agreed, GENERATE - 1); s++) {
            worstStep = Math.max(worstStep, relativeDifference(ours.stepLogits()[s], theirs.logitsBefore(s)));
        }
        String line = String.format(Locale.ROOT, "%-34s max|diff|/max|logit| %.2e (prompt) %.2e (continuation),"
                + " argmax %d/%d (worst tie %.2e), greedy %d/%d%s%s", label, worst, worstStep, argmaxAgree, compared,
                worstTie, agreed, GENERATE, parting, compared < PROMPT
                        ? String.format(Locale.ROOT, ", prompt compared up to a routing tie at position %d", compared)
                        : "");
        System.out.println(line);
        synchronized (REPORT) {
            REPORT.add(line);
        }

        assertTrue(largest > 1, label + ": llama.cpp's logits are all near zero (" + largest + "), nothing compared");
        assertTrue(worst <= tolerance, label + ": prompt logits differ by " + worst + " > " + tolerance);
        if (compared < PROMPT) {
            assertEquals(compared, argmaxAgree, label + ": argmax before the routing tie");
            return;
        }
        assertTrue(worstStep <= tolerance, label + ": continuation logits differ by " + worstStep + " > " + tolerance);
        if (exact) {
            assertEquals(PROMPT, argmaxAgree, label + ": argmax at every prompt position");
            assertEquals(GENERATE, agreed, label + ": greedy tokens");
        } else {
            assertTrue(PROMPT - argmaxAgree <= MAX_ARGMAX_FLIPS && worstTie <= MAX_TIE, label + ": argmax differs at "
                    + (PROMPT - argmaxAgree) + " prompt positions, the largest margin " + worstTie);
            assertTrue(agreed == GENERATE || agreed >= MIN_GREEDY_Q8_0 && ourTie <= MAX_TIE && theirTie <= MAX_TIE,
                    label + ": greedy tokens part after " + agreed + parting);
        }
    }

    /** max |a − b| over the row, relative to the row's largest |logit| (llama.cpp's row is {@code b}). */
    static double relativeDifference(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d / maxAbs(b);
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** The greedy choice: the largest logit, the lowest id among equals (as logits.mjs chooses). */
    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }
}
