package io.tessera.core.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.TokenizerJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * llama.cpp (node-llama-cpp 3.22.1's prebuilt CPU build, as {@code bench/llamacpp-node} installs it)
 * loads the GGUF file {@code convert} writes from a checkpoint directory with a real tokenizer, and
 * agrees with Tessera: the same ids for every text (so the tokens, types, merges and pre-tokenizer
 * name were written as its converter writes them), and the same greedy continuation of a prompt on
 * the F32 file, except at a near-tie (both engines sum in their own order, so the logits differ by
 * float rounding). Skipped, saying why, when node or the package is not installed.
 */
class HfGgufLlamaCppTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DRIVER_DIR = Path.of("..", "bench", "llamacpp-node").toAbsolutePath().normalize();
    private static final int GENERATE = 16;
    /** A token llama.cpp picks where Tessera's top choice differs must be this close to it (logits). */
    private static final float NEAR_TIE = 1e-3f;

    private static final List<String> TEXTS = List.of(
            "Hello world",
            "The quick brown fox jumps over the lazy dog.",
            "  leading spaces, tabs\tand\nnew lines\n\n",
            "数字 12345 and 3.14159, emoji \uD83E\uDD99\uD83D\uDE80",
            "I've been told he's there, 'RE you sure?",
            "def f(x):\n    return x ** 2  # square",
            "Привет, мир! こんにちは世界");

    @TempDir
    Path dir;

    static Stream<Arguments> families() {
        return Stream.of(Arguments.of("llama", 128256, "<|start_header_id|>user<|end_header_id|>"),
                Arguments.of("qwen3", 151936, "<|im_start|>user\nhi<|im_end|>"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void llamaCppLoadsTheConversionAndAgrees(String family, int vocab, String withSpecialTokens) throws Exception {
        assumeDriverInstalled();
        Path tokenizers = family.equals("llama") ? NpmTokenizers.llama3() : NpmTokenizers.qwen3();
        Path hf = RealisticCheckpoints.write(dir.resolve(family), family, vocab, tokenizers, 64, 2);
        check(hf, family, TokenizerJson.readDirectory(hf), withSpecialTokens, false);
    }

    /**
     * Gemma 3 (norms stored as w, 1 + w in GGUF; sliding window), a synthetic shape with the
     * synthetic byte-level tokenizer. (The catalog's tiny Phi-3 shape has query rows twice its
     * width, which llama.cpp's phi3 graph does not take: it assumes as many as the embedding has.)
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"tiny-gemma3"})
    void llamaCppLoadsTheNewerFamiliesConversions(String shape) throws Exception {
        assumeDriverInstalled();
        Path hf = dir.resolve(shape);
        io.tessera.core.synth.SyntheticModel.writeCheckpoint(hf, io.tessera.core.synth.ModelShape.named(shape),
                io.tessera.core.safetensors.SafetensorsDtype.F32, 11);
        check(hf, shape, TokenizerJson.readDirectory(hf), "<|bos|>the end<|eos|>", false);
    }

    /** Llama 2 / Mistral: the SentencePiece model as the GGUF vocabulary (Q/K rows permuted too). */
    @org.junit.jupiter.api.Test
    void llamaCppLoadsASentencePieceConversionAndAgrees() throws Exception {
        assumeDriverInstalled();
        Path hf = RealisticCheckpoints.llama2(dir.resolve("llama2"), 64, 2);
        Tokenizer original = new io.tessera.core.tokenizer.SentencePieceBpeTokenizer(
                io.tessera.core.tokenizer.Llama2cTokenizerReader.read(
                        io.tessera.core.TestModels.file("tokenizer-llama2-32k.bin")));
        check(hf, "llama2", original, "<s>[INST] hi [/INST]", true);
    }

    private static void assumeDriverInstalled() {
        assumeTrue(Files.isDirectory(DRIVER_DIR.resolve("node_modules").resolve("node-llama-cpp")),
                "llama.cpp check skipped: run `npm install --ignore-scripts` in " + DRIVER_DIR);
    }

    /**
     * @param original the tokenizer the checkpoint was written with, which the GGUF file's must match
     * @param sentencePiece llama.cpp's SentencePiece tokenize adds the dummy-prefix space as Tessera's
     *     encode with BOS does; the ids are compared without the BOS
     */
    private void check(Path hf, String family, Tokenizer original, String withSpecialTokens, boolean sentencePiece)
            throws Exception {
        Path gguf = dir.resolve(family + ".gguf");
        HfGgufConverter.convert(hf, gguf, family, WeightTypes.parse("F32"), GgufWriter.Progress.NONE);
        List<String> texts = new ArrayList<>(TEXTS);
        texts.add(withSpecialTokens);
        try (LoadedModel tessera = LoadedModel.open(gguf, null); Parallel parallel = new Parallel(2)) {
            Tokenizer ours = tessera.tokenizer();
            int[] prompt = ours.encode("Once upon a time, in a quiet town", true, false);
            JsonNode theirs = llamaCpp(DRIVER_DIR.resolve("check-gguf.mjs"), gguf, texts, prompt);
            for (int i = 0; i < texts.size(); i++) {
                String text = texts.get(i);
                int[] ids = sentencePiece ? withoutBos(ours.encode(text, true, true), ours.bos())
                        : ours.encode(text, false, true);
                int[] want = sentencePiece ? withoutBos(original.encode(text, true, true), original.bos())
                        : original.encode(text, false, true);
                assertArrayEquals(want, ids, "the checkpoint's tokenizer: " + text);
                assertArrayEquals(ids, ints(theirs.path("tokens").get(i)), "llama.cpp: " + text);
            }
            int[] greedy = ints(theirs.path("greedy"));
            assertEquals(GENERATE, greedy.length);
            int agreed = compareGreedy(tessera, parallel, prompt, greedy);
            System.out.printf("%s: llama.cpp and Tessera agree on %d of %d greedy tokens %s%n", family, agreed,
                    GENERATE, Arrays.toString(greedy));
        }
    }

    private static int[] withoutBos(int[] ids, int bos) {
        return ids.length > 0 && ids[0] == bos ? Arrays.copyOfRange(ids, 1, ids.length) : ids;
    }

    /**
     * Runs Tessera greedily on llama.cpp's tokens: every token must be Tessera's choice too, or (at
     * the first that is not) a near-tie of Tessera's logits, after which the runs may part.
     */
    private static int compareGreedy(LoadedModel m, Parallel parallel, int[] prompt, int[] theirs) {
        DecoderForward forward = new DecoderForward(m.model(), parallel);
        int vocab = m.model().config().vocabSize();
        F32KvCache cache = new F32KvCache(m.model().config(), 1, prompt.length + theirs.length + 8);
        float[] logits = forward.forward(ForwardBatch.single(new int[] {0}, prompt, 0, ForwardBatch.Logits.LAST),
                cache);
        int position = prompt.length;
        for (int i = 0; i < theirs.length; i++) {
            int best = 0;
            for (int t = 1; t < vocab; t++) {
                if (logits[t] > logits[best]) {
                    best = t;
                }
            }
            if (best != theirs[i]) {
                float margin = logits[best] - logits[theirs[i]];
                assertTrue(margin < NEAR_TIE, "greedy token " + i + ": llama.cpp chose " + theirs[i] + ", Tessera "
                        + best + " by a margin of " + margin + " logits");
                return i;
            }
            logits = forward.forward(ForwardBatch.single(new int[] {0}, new int[] {best}, position++,
                    ForwardBatch.Logits.LAST), cache);
        }
        return theirs.length;
    }

    private JsonNode llamaCpp(Path script, Path gguf, List<String> texts, int[] prompt) throws Exception {
        ObjectNode request = JSON.createObjectNode();
        texts.forEach(request.putArray("texts")::add);
        Arrays.stream(prompt).forEach(request.putArray("prompt")::add);
        request.put("generate", GENERATE);
        Path requestFile = dir.resolve("request.json");
        JSON.writeValue(requestFile.toFile(), request);
        Path out = dir.resolve("llamacpp.out");
        Process p;
        try {
            p = new ProcessBuilder("node", script.toString(), gguf.toString(), requestFile.toString())
                    .directory(DRIVER_DIR.toFile()).redirectErrorStream(false).redirectOutput(out.toFile())
                    .redirectError(dir.resolve("llamacpp.err").toFile()).start();
        } catch (IOException e) {
            assumeTrue(false, "llama.cpp check skipped: node is not available: " + e.getMessage());
            throw e;
        }
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("node-llama-cpp did not finish in 180 s");
        }
        String err = Files.readString(dir.resolve("llamacpp.err"), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "node-llama-cpp failed: " + err);
        return JSON.readTree(out.toFile());
    }

    private static int[] ints(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }
}
