package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tessera.core.TestModels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Llama2cLoader;
import io.tessera.core.arch.Architectures;
import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.QuantizingTensorSource;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tensor.GgmlType;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A token's logits do not depend on which other tokens share its batch: decoding a sequence alone
 * and decoding it next to others (prefill chunks and decodes mixed, four-token tiles and tails,
 * one thread and two) gives bit-identical logits.
 */
class BatchInvarianceTest {

    @Test
    void logitsDoNotDependOnTheBatch() throws IOException {
        try (Model model = Llama2cLoader.load(TestModels.stories260K())) {
            assertBatchInvariant(model);
        }
    }

    /** W8A8: each token's activations are rounded with its own scale, so its result is its own too. */
    @Test
    void w8a8LogitsDoNotDependOnTheBatch(@TempDir Path dir) throws IOException {
        ModelConfig c = Architectures.named("llama").configure(new ModelConfig("llama", 96, 172, 2, 6, 2, 64, 600,
                128, 10000f, RopeStyle.NEOX, 1e-5f));
        SyntheticModel.writeCheckpoint(dir, new ModelShape("w8a8", c, false), SafetensorsDtype.F32, 5);
        LoadOptions w8a8 = LoadOptions.quantized(WeightTypes.parse("W8A8"), QuantizingTensorSource.Progress.NONE);
        try (Model model = ModelLoader.load(dir, w8a8)) {
            assertEquals(GgmlType.W8A8, model.layers().get(0).feedForward().down().type());
            assertBatchInvariant(model);
        }
    }

    private static void assertBatchInvariant(Model model) {
        try (Parallel one = new Parallel(1); Parallel two = new Parallel(2)) {
            int[] prompt = {1, 403, 407, 261, 378, 430, 270};
            int[] other = {1, 300, 301, 302, 303, 304, 305, 306, 307, 308};
            // alone, one thread: the prompt in one chunk
            F32KvCache c1 = new F32KvCache(model.config(), 8, 16);
            float[] alone = new DecoderForward(model, one).forward(
                    ForwardBatch.single(new int[] {0}, prompt, 0, ForwardBatch.Logits.ALL), c1);
            // in a batch on two threads, after another sequence's longer chunk, with a decode behind it
            F32KvCache c2 = new F32KvCache(model.config(), 8, 16);
            DecoderForward f2 = new DecoderForward(model, two);
            f2.forward(ForwardBatch.single(new int[] {2}, new int[] {1, 500}, 0, ForwardBatch.Logits.NONE), c2);
            float[] mixed = f2.forward(ForwardBatch.builder()
                    .add(new int[] {1}, other, 0, ForwardBatch.Logits.ALL)
                    .add(new int[] {0}, prompt, 0, ForwardBatch.Logits.ALL)
                    .add(new int[] {2}, new int[] {77}, 2, ForwardBatch.Logits.LAST)
                    .build(), c2);
            int vocab = model.config().vocabSize();
            float[] fromMixed = new float[prompt.length * vocab];
            System.arraycopy(mixed, other.length * vocab, fromMixed, 0, fromMixed.length);
            assertArrayEquals(alone, fromMixed, 0f);
            // and token by token (decode steps) gives the same last logits as the chunk
            F32KvCache c3 = new F32KvCache(model.config(), 8, 16);
            DecoderForward f3 = new DecoderForward(model, two);
            float[] last = null;
            for (int i = 0; i < prompt.length; i++) {
                last = f3.forward(ForwardBatch.single(new int[] {0}, new int[] {prompt[i]}, i,
                        ForwardBatch.Logits.LAST), c3);
            }
            float[] chunkLast = new float[vocab];
            System.arraycopy(alone, (prompt.length - 1) * vocab, chunkLast, 0, vocab);
            assertArrayEquals(chunkLast, last, 0f);
        }
    }
}
