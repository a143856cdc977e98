package io.tessera.core.crosscheck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.TestModels;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.hf.HfGgufConverter;
import io.tessera.core.hf.RealisticCheckpoints;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.tokenizer.Llama2cTokenizerReader;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.core.tokenizer.SentencePieceBpeTokenizer;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.TokenizerJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * llama.cpp (node-llama-cpp 3.22.1, through {@link LlamaCppNode} and {@code logits.mjs}) runs the
 * GGUF files {@code convert} writes from checkpoint directories with real tokenizers and agrees
 * with Tessera: its logits at every position of a prompt within {@link LlamaCppLogitsTest}'s F32
 * bounds (the same measurement: max |difference| / max |logit| per row), the same greedy tokens,
 * and, through {@code check-tokens.mjs}, the same ids for every text, so the tokens, types, merges
 * or scores and the pre-tokenizer name were written as llama.cpp's converter writes them.
 */
class HfConversionLlamaCppTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PROMPT = 24;
    private static final int GENERATE = 16;
    /** LlamaCppLogitsTest's F32 bounds: float rounding in another order (GeGLU: llama.cpp's F16 GELU table). */
    private static final double F32_TOLERANCE = 4e-6;
    private static final double GEGLU_F32_TOLERANCE = 2e-3;

    private static final List<String> TEXTS = List.of(
            "Hello world",
            "The quick brown fox jumps over the lazy dog.",
            "  leading spaces, tabs\tand\nnew lines\n\n",
            "\u6570\u5b57 12345 and 3.14159, emoji \uD83E\uDD99\uD83D\uDE80",
            "I've been told he's there, 'RE you sure?",
            "def f(x):\n    return x ** 2  # square",
            "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u3053\u3093\u306b\u3061\u306f\u4e16\u754c");
    private static final String STORY = "Once upon a time, in a quiet town by the sea, there lived an old clockmaker "
            + "who repaired every clock but his own, and the children of the town came to watch him work each day.";

    @TempDir
    Path dir;

    static Stream<Arguments> byteLevelFamilies() {
        return Stream.of(Arguments.of("llama", 128256, "<|start_header_id|>user<|end_header_id|>"),
                Arguments.of("qwen3", 151936, "<|im_start|>user\nhi<|im_end|>"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("byteLevelFamilies")
    void byteLevelCheckpoints(String family, int vocab, String withSpecialTokens) throws Exception {
        LlamaCppNode llamaCpp = LlamaCppNode.install();
        Path tokenizers = family.equals("llama") ? NpmTokenizers.llama3() : NpmTokenizers.qwen3();
        Path hf = RealisticCheckpoints.write(dir.resolve(family), family, vocab, tokenizers, 64, 2);
        check(llamaCpp, hf, family, TokenizerJson.readDirectory(hf), withSpecialTokens, false);
    }

    /** Llama 2 / Mistral: the SentencePiece model as the GGUF vocabulary, Q/K rows permuted. */
    @Test
    void sentencePieceCheckpoint() throws Exception {
        LlamaCppNode llamaCpp = LlamaCppNode.install();
        Path hf = RealisticCheckpoints.llama2(dir.resolve("llama2"), 64, 2);
        Tokenizer original = new SentencePieceBpeTokenizer(
                Llama2cTokenizerReader.read(TestModels.file("tokenizer-llama2-32k.bin")));
        check(llamaCpp, hf, "llama2", original, "<s>[INST] hi [/INST]", true);
    }

    /** Gemma 3: norms stored as w become 1 + w, sliding-window layers (synthetic byte-level tokenizer). */
    @Test
    void gemma3Checkpoint() throws Exception {
        LlamaCppNode llamaCpp = LlamaCppNode.install();
        Path hf = dir.resolve("gemma3");
        SyntheticModel.writeCheckpoint(hf, ModelShape.named("tiny-gemma3"), SafetensorsDtype.F32, 11);
        check(llamaCpp, hf, "gemma3", TokenizerJson.readDirectory(hf), "<|bos|>the end<|eos|>", false);
    }

    /**
     * @param original the tokenizer the checkpoint was written with, which the GGUF file's must match
     * @param sentencePiece llama.cpp's tokenize of a SentencePiece vocabulary adds the dummy-prefix
     *     space as Tessera's encode with BOS does: the ids are compared without the BOS
     */
    private void check(LlamaCppNode llamaCpp, Path hf, String family, Tokenizer original, String withSpecialTokens,
            boolean sentencePiece) throws Exception {
        Path gguf = dir.resolve(family + ".gguf");
        HfGgufConverter.convert(hf, gguf, family, WeightTypes.parse("F32"), GgufWriter.Progress.NONE);
        List<String> texts = new ArrayList<>(TEXTS);
        texts.add(withSpecialTokens);
        try (LoadedModel tessera = LoadedModel.open(gguf, null); Parallel parallel = new Parallel(2)) {
            Tokenizer ours = tessera.tokenizer();
            JsonNode theirTokens = tokenize(gguf, texts);
            for (int i = 0; i < texts.size(); i++) {
                String text = texts.get(i);
                int[] ids = sentencePiece ? withoutBos(ours.encode(text, true, true), ours.bos())
                        : ours.encode(text, false, true);
                int[] want = sentencePiece ? withoutBos(original.encode(text, true, true), original.bos())
                        : original.encode(text, false, true);
                assertArrayEquals(want, ids, "the checkpoint's tokenizer: " + text);
                assertArrayEquals(ids, ints(theirTokens.get(i)), "llama.cpp: " + text);
            }

            int[] prompt = Arrays.copyOf(ours.encode(STORY, true, false), PROMPT);
            LlamaCppNode.Result theirs = llamaCpp.logits(gguf, prompt, GENERATE, 1);
            double tolerance = tessera.model().config().feedForward() == FeedForwardKind.GEGLU
                    ? GEGLU_F32_TOLERANCE : F32_TOLERANCE;
            DecoderForward forward = new DecoderForward(tessera.model(), parallel);
            int vocab = tessera.model().config().vocabSize();
            F32KvCache cache = new F32KvCache(tessera.model().config(), 1, PROMPT + GENERATE);
            float[] all = forward.forward(ForwardBatch.single(new int[] {0}, prompt, 0, ForwardBatch.Logits.ALL), cache);
            double worst = 0;
            for (int p = 0; p < PROMPT; p++) {
                worst = Math.max(worst, LlamaCppLogitsTest.relativeDifference(
                        Arrays.copyOfRange(all, p * vocab, (p + 1) * vocab), theirs.promptLogits()[p]));
            }
            float[] logits = Arrays.copyOfRange(all, (PROMPT - 1) * vocab, PROMPT * vocab);
            int agreed = 0;
            for (int s = 0; s < GENERATE; s++) {
                worst = Math.max(worst, LlamaCppLogitsTest.relativeDifference(logits, theirs.logitsBefore(s)));
                int token = LlamaCppLogitsTest.argmax(logits);
                if (token != theirs.generated()[s]) {
                    break;
                }
                agreed++;
                logits = forward.forward(ForwardBatch.single(new int[] {0}, new int[] {token}, PROMPT + s,
                        ForwardBatch.Logits.LAST), cache);
            }
            System.out.printf(Locale.ROOT, "%s conversion: llama.cpp's logits within %.2e of Tessera's (max|diff|/"
                    + "max|logit|), greedy %d/%d%n", family, worst, agreed, GENERATE);
            assertTrue(worst <= tolerance, family + ": logits differ by " + worst + " > " + tolerance);
            assertEquals(GENERATE, agreed, family + ": greedy tokens");
        }
    }

    /** llama.cpp's ids for each text ({@code check-tokens.mjs}: special tokens parsed, no BOS added). */
    private JsonNode tokenize(Path gguf, List<String> texts) throws Exception {
        Path driver = TestModels.repoRoot().resolve("bench").resolve("llamacpp-node");
        ObjectNode request = JSON.createObjectNode();
        texts.forEach(request.putArray("texts")::add);
        Path requestFile = dir.resolve("texts.json");
        JSON.writeValue(requestFile.toFile(), request);
        Path out = dir.resolve("tokens.out");
        Path err = dir.resolve("tokens.err");
        Process p = new ProcessBuilder("node", driver.resolve("check-tokens.mjs").toString(), gguf.toString(),
                requestFile.toString()).directory(driver.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("check-tokens.mjs did not finish in 180 s");
        }
        assertEquals(0, p.exitValue(), "check-tokens.mjs failed: " + Files.readString(err, StandardCharsets.UTF_8));
        return JSON.readTree(out.toFile()).path("tokens");
    }

    private static int[] withoutBos(int[] ids, int bos) {
        return ids.length > 0 && ids[0] == bos ? Arrays.copyOfRange(ids, 1, ids.length) : ids;
    }

    private static int[] ints(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }
}
