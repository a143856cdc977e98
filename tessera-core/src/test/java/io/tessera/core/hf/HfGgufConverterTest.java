package io.tessera.core.hf;

import static io.tessera.core.hf.HfCheckpointLogitsTest.logits;
import static io.tessera.core.hf.HfCheckpointLogitsTest.maxAbs;
import static io.tessera.core.hf.HfCheckpointLogitsTest.maxDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufTensorInfo;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.QuantizingTensorSource;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.TokenizerCorpus;
import io.tessera.core.tokenizer.TokenizerJson;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code convert} of a Hugging Face checkpoint directory: the GGUF file holds the checkpoint's
 * model (the logits agree; for Llama the Q/K rows come back in llama.cpp's interleaved order, the
 * very bytes of the GGUF file the checkpoint was written from), quantizing at load holds the same
 * bytes as the converted file of that type, and real tokenizers are written as llama.cpp's
 * converter writes them.
 */
class HfGgufConverterTest {

    private static final int VOCAB = 320;

    @TempDir
    Path dir;

    static Stream<Arguments> shapes() {
        ModelConfig llama = config("llama", 64, 4, 2, 16);
        return Stream.of(
                Arguments.of(new ModelShape("llama", llama, false)),
                Arguments.of(new ModelShape("llama-tied-rope-llama3",
                        llama.withRope(RopeStyle.INTERLEAVED, RopeScaling.llama3(8f, 1f, 4f, 64)), true)),
                Arguments.of(new ModelShape("qwen2", config("qwen2", 64, 4, 2, 16), true)),
                Arguments.of(new ModelShape("qwen3", config("qwen3", 64, 4, 2, 32), false)),
                Arguments.of(ModelShape.named("tiny-gemma3")),
                Arguments.of(ModelShape.named("tiny-phi4")));
    }

    private static ModelConfig config(String arch, int dim, int heads, int kvHeads, int headDim) {
        return Architectures.named(arch).configure(new ModelConfig(arch, dim, 96, 2, heads, kvHeads, headDim, VOCAB,
                128, 10000f, RopeStyle.INTERLEAVED, 1e-5f));
    }

    /**
     * The checkpoint is written from a GGUF file's weights (Q/K rows put in half-split order);
     * converting it back gives that file's tensors byte for byte, and the same logits as running the
     * checkpoint itself.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void convertingTheCheckpointGivesBackTheGgufItWasWrittenFrom(ModelShape shape) throws Exception {
        Path original = dir.resolve("original.gguf");
        Path hf = dir.resolve("hf");
        Path converted = dir.resolve("converted.gguf");
        int vocab = shape.config().vocabSize();
        SyntheticModel.write(original, shape, SyntheticVocabulary.generate(vocab, 1), WeightTypes.parse("F32"), 5);
        SyntheticModel.writeCheckpoint(hf, shape, SafetensorsDtype.F32, 5);
        List<String> progress = new ArrayList<>();
        HfGgufConverter.convert(hf, converted, "tiny", WeightTypes.parse("F32"),
                (done, count, name, bytes, total) -> progress.add(done + "/" + count + " " + name));

        try (GgufFile want = GgufFile.open(original); GgufFile got = GgufFile.open(converted)) {
            assertEquals(want.tensorInfos().size(), got.tensorInfos().size(), "tensor count");
            assertEquals(got.tensorInfos().size(), progress.size(), "one progress report per tensor");
            for (GgufTensorInfo t : want.tensorInfos()) {
                MemorySegment a = want.tensor(t.name()).data();
                MemorySegment b = got.tensor(t.name()).data();
                assertEquals(-1, a.mismatch(b), t.name() + " differs from the GGUF the checkpoint was written from");
            }
            GgufMetadata md = got.metadata();
            String a = shape.config().architecture();
            assertEquals(a, md.getString("general.architecture"));
            assertEquals("tiny", md.getString("general.name"));
            assertEquals(0, md.getInt("general.file_type"));
            for (String key : List.of("context_length", "embedding_length", "block_count", "feed_forward_length",
                    "attention.head_count", "attention.head_count_kv", "rope.freq_base",
                    "attention.layer_norm_rms_epsilon", "attention.key_length", "rope.dimension_count")) {
                assertEquals(want.metadata().value(a + "." + key), md.value(a + "." + key), key);
            }
            assertEquals("gpt2", md.getString("tokenizer.ggml.model"));
            assertEquals("gpt-2", md.getString("tokenizer.ggml.pre"), "a plain ByteLevel pre-tokenizer is GPT-2's");
        }
        int[] prompt = new Random(shape.name().hashCode()).ints(20, 0, vocab).toArray();
        try (Model fromHf = ModelLoader.load(hf); Model fromGguf = ModelLoader.load(converted);
                Parallel p = new Parallel(2)) {
            float[] want = logits(fromHf, prompt, p);
            float[] got = logits(fromGguf, prompt, p);
            if (shape.config().ropeStyle() == RopeStyle.NEOX) {
                assertArrayEquals(want, got, "the same rows in the same order: bit-identical logits");
            } else {
                // interleaved pairs sum each head's q·k in another order than half-split ones
                assertTrue(maxDifference(want, got) <= 1e-5 * Math.max(1, maxAbs(want)),
                        "logits differ by " + maxDifference(want, got));
            }
        }
    }

    /** Quantizing at load holds exactly the bytes of the converted file of that type. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void quantizingAtLoadHoldsTheBytesOfTheConvertedFile(ModelShape shape) throws Exception {
        Path hf = dir.resolve("hf");
        Path converted = dir.resolve("q8.gguf");
        SyntheticModel.writeCheckpoint(hf, shape, SafetensorsDtype.BF16, 9);
        HfGgufConverter.convert(hf, converted, "tiny", WeightTypes.parse("Q8_0"), GgufWriter.Progress.NONE);
        AtomicInteger reports = new AtomicInteger();
        QuantizingTensorSource.Progress progress = (matrices, layer, layers, bytes) -> reports.incrementAndGet();
        ModelConfig cfg = shape.config();
        boolean permuted = cfg.ropeStyle() == RopeStyle.INTERLEAVED;
        try (Model atLoad = ModelLoader.load(hf, LoadOptions.quantized(WeightTypes.parse("Q8_0"), progress));
                GgufFile file = GgufFile.open(converted); Model fromFile = ModelLoader.load(converted);
                Parallel p = new Parallel(2)) {
            var projected = io.tessera.core.model.QuantizedSize.of(cfg, shape.tiedEmbeddings(), WeightTypes.parse("Q8_0"));
            assertEquals(projected.matricesByType().values().stream().mapToInt(Integer::intValue).sum(), reports.get(),
                    "one progress report per matrix bound (Phi-3's fused ones once)");
            long held = atLoad.matrices().stream().mapToLong(t -> t.data().byteSize()).sum();
            assertEquals(held, projected.bytes(), "info --quantize tells what loading holds");
            boolean fused = Architectures.named(cfg.architecture()).fusedProjections();
            for (Tensor t : fused ? List.<Tensor>of() : atLoad.matrices()) {
                assertEquals(GgmlType.Q8_0, t.type(), t.name());
                // quantized at load, a matrix is already in the kernels' lane order; the file's is put in it too
                Tensor stored = t.layout() == Tensor.Layout.LANES
                        ? io.tessera.core.kernel.WeightKernel.repackForKernels(file.tensor(t.name()),
                                java.lang.foreign.Arena.ofAuto())
                        : file.tensor(t.name());
                boolean rotary = permuted && (t.name().endsWith("attn_q.weight") || t.name().endsWith("attn_k.weight"));
                long rowBytes = t.rowBytes();
                for (long r = 0; r < t.rowCount(); r++) {
                    long fileRow = rotary ? HfCheckpointWriter.interleavedRow(r, cfg.headDim()) : r;
                    assertEquals(-1, t.data().asSlice(r * rowBytes, rowBytes)
                                    .mismatch(stored.data().asSlice(fileRow * rowBytes, rowBytes)),
                            t.name() + " row " + r);
                }
            }
            if (!permuted) {
                int[] prompt = new Random(3).ints(16, 0, cfg.vocabSize()).toArray();
                assertArrayEquals(logits(fromFile, prompt, p), logits(atLoad, prompt, p));
            }
        }
    }

    /** A GGUF file in F32 quantized at load holds the bytes of the same model converted to that type. */
    @Test
    void quantizingAnF32GgufAtLoadHoldsTheBytesOfItsConversion() throws Exception {
        // rows of 256 values: the kernels' lane order applies, and quantizing at load repacks at once
        ModelShape shape = new ModelShape("qwen2", Architectures.named("qwen2").configure(new ModelConfig("qwen2", 256,
                512, 2, 4, 2, 64, VOCAB, 128, 10000f, RopeStyle.INTERLEAVED, 1e-5f)), false);
        Path f32 = dir.resolve("f32.gguf");
        Path q4k = dir.resolve("q4km.gguf");
        SyntheticModel.write(f32, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 2);
        SyntheticModel.write(q4k, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("Q4_K_M"), 2);
        try (Model atLoad = ModelLoader.load(f32, LoadOptions.quantized(WeightTypes.parse("Q4_K_M"), null));
                GgufFile file = GgufFile.open(q4k)) {
            for (Tensor t : atLoad.matrices()) {
                Tensor stored = t.layout() == Tensor.Layout.LANES
                        ? io.tessera.core.kernel.WeightKernel.repackForKernels(file.tensor(t.name()),
                                java.lang.foreign.Arena.ofAuto())
                        : file.tensor(t.name());
                assertEquals(stored.type(), t.type(), t.name());
                assertEquals(-1, t.data().mismatch(stored.data()), t.name());
            }
            assertTrue(atLoad.matrices().stream().anyMatch(t -> t.layout() == Tensor.Layout.LANES));
            try (Model fromFile = ModelLoader.load(q4k); Parallel p = new Parallel(2)) {
                int[] prompt = new Random(4).ints(12, 0, VOCAB).toArray();
                float[] want = logits(fromFile, prompt, p);
                float[] got = logits(atLoad, prompt, p);
                assertTrue(maxDifference(want, got) <= 1e-4 * Math.max(1, maxAbs(want)),
                        "lane-order kernels on the same bytes: " + maxDifference(want, got));
            }
        }
    }

    @Test
    void quantizingAtLoadRefusesAnAlreadyQuantizedFile() throws Exception {
        Path q4 = dir.resolve("q4.gguf");
        ModelShape shape = new ModelShape("qwen3", config("qwen3", 64, 4, 2, 32), true);
        SyntheticModel.write(q4, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("Q4_0"), 1);
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.tessera.core.format.ModelFormatException.class,
                () -> ModelLoader.load(q4, LoadOptions.quantized(WeightTypes.parse("Q8_0"), null)));
        assertTrue(e.getMessage().contains("already quantized (Q4_0)"), e.getMessage());
        try (Model m = ModelLoader.load(q4, LoadOptions.quantized(WeightTypes.parse("Q4_0"), null))) {
            assertEquals(GgmlType.Q4_0, m.tokenEmbedding().type(), "a matrix already in the type is kept");
        }
    }

    /**
     * A Llama-3- and a Qwen-3-shaped checkpoint with the real tokenizers: the pre-tokenizer is
     * recognised as llama.cpp recognises it, the vocabulary padded to the embedding, the special
     * tokens and template carried, and the GGUF file's tokenizer encodes as the tokenizer.json does.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("realTokenizers")
    void realTokenizersAreWrittenAsLlamaCppWritesThem(String family, int vocab, String pre, int bos, int eos, int pad)
            throws Exception {
        Path tokenizers = family.equals("llama") ? NpmTokenizers.llama3() : NpmTokenizers.qwen3();
        Path hf = RealisticCheckpoints.write(dir.resolve(family + "-hf"), family, vocab, tokenizers, 32, 1);
        Path converted = dir.resolve(family + ".gguf");
        HfGgufConverter.convert(hf, converted, family, WeightTypes.parse("Q8_0"), GgufWriter.Progress.NONE);
        try (GgufFile f = GgufFile.open(converted)) {
            GgufMetadata md = f.metadata();
            assertEquals("gpt2", md.getString("tokenizer.ggml.model"));
            assertEquals(pre, md.getString("tokenizer.ggml.pre"));
            String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
            int[] types = md.getIntArray("tokenizer.ggml.token_type");
            assertEquals(vocab, tokens.length, "one token per embedding row");
            assertEquals(eos, md.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(bos, md.getInt("tokenizer.ggml.bos_token_id", -1));
            assertEquals(pad, md.getInt("tokenizer.ggml.padding_token_id", -1));
            assertEquals(HfCheckpoint.chatTemplate(hf), md.getString("tokenizer.chat_template"));
            assertEquals(7, md.getInt("general.file_type"), "Q8_0");
            assertTrue(md.getStringArray("tokenizer.ggml.merges").length > 100_000);
            if (family.equals("qwen3")) {
                assertEquals("[PAD151935]", tokens[151935]);
                assertEquals(5, types[151935], "ids without a token are unused");
                assertEquals("<|im_start|>", tokens[151644]);
                assertEquals(3, types[151644], "special added tokens are control tokens");
                assertEquals("<think>", tokens[151667]);
                assertEquals(4, types[151667], "other added tokens are user-defined");
                assertEquals(3, types[151659], "<|fim_prefix|> is not marked special but looks it");
            }
            assertEquals(1, types[1000]);
        }
        try (LoadedModel fromGguf = LoadedModel.open(converted, null)) {
            Tokenizer json = TokenizerJson.readDirectory(hf);
            Tokenizer gguf = fromGguf.tokenizer();
            for (String raw : TokenizerCorpus.texts(List.of())) {
                // GGUF tokenizers have no normalizer (llama.cpp applies none): Qwen's NFC is left to the text
                String text = java.text.Normalizer.normalize(raw, java.text.Normalizer.Form.NFC);
                assertArrayEquals(json.encode(text, false, true), gguf.encode(text, false, true), text);
            }
            assertEquals(eos, gguf.eos());
        }
    }

    /**
     * A Llama 2 / Mistral-style checkpoint: the SentencePiece model becomes the GGUF vocabulary
     * (model llama, scores, types), BOS/EOS come from config.json, and the file tokenizes as the
     * same tokenizer read from llama2.c's file does.
     */
    @Test
    void sentencePieceCheckpointIsWrittenAsLlamaCppWritesIt() throws Exception {
        Path hf = RealisticCheckpoints.llama2(dir.resolve("llama2"), 32, 1);
        Path converted = dir.resolve("llama2.gguf");
        HfGgufConverter.convert(hf, converted, "llama2", WeightTypes.parse("Q8_0"), GgufWriter.Progress.NONE);
        try (GgufFile f = GgufFile.open(converted)) {
            GgufMetadata md = f.metadata();
            assertEquals("llama", md.getString("tokenizer.ggml.model"));
            assertEquals("default", md.getString("tokenizer.ggml.pre"));
            String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
            int[] types = md.getIntArray("tokenizer.ggml.token_type");
            assertEquals(32000, tokens.length);
            assertEquals("<unk>", tokens[0]);
            assertEquals(2, types[0]);
            assertEquals("<s>", tokens[1]);
            assertEquals(3, types[1]);
            assertEquals("<0x0A>", tokens[13]);
            assertEquals(6, types[13]);
            assertEquals(1, md.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(2, md.getInt("tokenizer.ggml.eos_token_id"));
            assertTrue(md.getBoolean("tokenizer.ggml.add_bos_token"));
            assertFalse(md.getBoolean("tokenizer.ggml.add_eos_token"));
            assertEquals(HfCheckpoint.chatTemplate(hf), md.getString("tokenizer.chat_template"));
            assertTrue(md.getBoolean("tokenizer.ggml.add_space_prefix", true));
        }
        Tokenizer reference = new io.tessera.core.tokenizer.SentencePieceBpeTokenizer(
                io.tessera.core.tokenizer.Llama2cTokenizerReader.read(
                        io.tessera.core.TestModels.file("tokenizer-llama2-32k.bin")));
        try (LoadedModel fromGguf = LoadedModel.open(converted, null)) {
            for (String text : TokenizerCorpus.texts(List.of())) {
                assertArrayEquals(reference.encode(text, true), fromGguf.tokenizer().encode(text, true), text);
            }
        }
    }

    /** Broken tokenizer files are refused naming the file and what is wrong; no output file is left. */
    @Test
    void brokenTokenizersAreRefusedByName() throws Exception {
        ModelShape shape = new ModelShape("qwen3", config("qwen3", 64, 4, 2, 32), true);
        Path hf = dir.resolve("hf");
        Path out = dir.resolve("out.gguf");
        SyntheticModel.writeCheckpoint(hf, shape, SafetensorsDtype.BF16, 1);
        Path json = hf.resolve("tokenizer.json");
        String original = Files.readString(json);

        Files.writeString(json, original.replace("\"merges\" : [", "\"merges\" : [ 7, "));
        assertRefused(hf, out, "tokenizer.json: model.merges[0]");
        Files.writeString(json, original.replace("\"id\" : 1,", "\"id\" : 100000,"));
        assertRefused(hf, out, "token id 100000");
        Files.writeString(json, original.replace("\"use_regex\" : true", "\"use_regex\" : false"));
        assertRefused(hf, out, "pre-tokenizer is not one llama.cpp recognises (check-text hash ");
        Files.writeString(json, original.replace("\"byte_fallback\" : false", "\"byte_fallback\" : true"));
        assertRefused(hf, out, "a SentencePiece-style tokenizer.json (byte_fallback) without its tokenizer.model");
        Files.writeString(json, original);

        Files.write(hf.resolve("tokenizer.model"), new byte[] {0x0a, 0x7f, 0x0a, 0x01});
        assertRefused(hf, out, "tokenizer.model: not a SentencePiece model (at byte");
        Files.copy(io.tessera.core.TestModels.file("tokenizer-llama2-32k.model"), hf.resolve("tokenizer.model"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path config = hf.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"added_tokens_decoder\": {\"x1\": {\"content\": \"<x>\"}}}");
        assertRefused(hf, out, "added_tokens_decoder key 'x1' is not an id");
    }

    private static void assertRefused(Path hf, Path out, String message) {
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> HfGgufConverter.convert(hf, out, "x", WeightTypes.parse("F32"), GgufWriter.Progress.NONE));
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertFalse(Files.exists(out), "no output is left");
    }

    static Stream<Arguments> realTokenizers() {
        return Stream.of(
                Arguments.of("llama", 128256, "llama-bpe", 128000, 128001, -1),
                Arguments.of("qwen3", 151936, "qwen2", -1, 151645, 151643));
    }
}
