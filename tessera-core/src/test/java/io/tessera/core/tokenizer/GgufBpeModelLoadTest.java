package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Stories260K;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model GGUF whose vocabulary is byte-level BPE ({@code tokenizer.ggml.model = gpt2}) loads with
 * that tokenizer: the stories260K weights with a 512-token byte-level vocabulary in place of their
 * SentencePiece one. (Until now such files were refused as "tokenizer model 'gpt2' is not supported".)
 */
class GgufBpeModelLoadTest {
    @TempDir
    Path dir;

    /** The 256 byte characters and 256 merges spelling common words of the stories. */
    private static BpeTokenizer bytesAndMerges(int size) {
        Map<String, Integer> vocab = new HashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), b);
        List<String[]> merges = new ArrayList<>();
        String[] words = (" the a and to was he she they it in of her his with one day upon time once little"
                + " big play happy said mom saw wanted friend tree park ball dog cat bird sun fun went").split("(?= )");
        outer:
        for (String word : words) {
            String w = ByteLevelAlphabet.encode(word);
            String left = w.substring(0, 1);
            for (int i = 1; i < w.length(); i++) {
                if (vocab.size() == size) break outer;
                String merged = left + w.charAt(i);
                if (!vocab.containsKey(merged)) {
                    merges.add(new String[] {left, String.valueOf(w.charAt(i))});
                    vocab.put(merged, vocab.size());
                }
                left = merged;
            }
        }
        for (int filler = 0; vocab.size() < size; filler++) vocab.put("<unused" + filler + ">", vocab.size());
        BpeModel model = new BpeModel(vocab, merges, null, false, false, false, null, null);
        return new BpeTokenizer(model, null, GgufBpePreTokenizers.forName("gpt2"), List.of(), new int[0], new int[0],
                new TokenDecoder(List.of(new TokenDecoder.ByteLevel()), false), -1, -1);
    }

    private Path withTokenizer(BpeTokenizer tokenizer, String pre) throws IOException {
        Path source = Stories260K.convert(dir, "F32");
        Path out = dir.resolve("bpe-" + pre + ".gguf");
        try (GgufFile in = GgufFile.open(source)) {
            GgufWriter w = new GgufWriter().putAll(in.metadata());
            GgufTokenizers.writeBpe(tokenizer, "gpt2", w);
            w.putString("tokenizer.ggml.pre", pre);
            for (var info : in.tensorInfos()) {
                var t = in.tensor(info.name());
                w.addRawTensor(info.name(), t.type(), t.dims(), t.data());
            }
            w.write(out);
        }
        return out;
    }

    @Test
    void modelWithByteLevelVocabularyLoadsWithIt() throws IOException {
        BpeTokenizer vocabulary = bytesAndMerges(512);
        Path file = withTokenizer(vocabulary, "gpt2");
        try (LoadedModel loaded = LoadedModel.open(file, null)) {
            Tokenizer tok = assertInstanceOf(BpeTokenizer.class, loaded.tokenizer());
            assertEquals(512, tok.vocabSize());
            String text = "Once upon a time, the little dog saw a big ball in the park.";
            int[] ids = tok.encode(text, false, false);
            assertTrue(ids.length < text.length(), "merges apply: " + ids.length + " tokens");
            assertEquals(text, tok.decode(ids));
            assertEquals(java.util.Arrays.toString(vocabulary.encode(text, false, false)), java.util.Arrays.toString(ids));
        }
    }

    @Test
    void unknownPreTokenizerInAModelFileIsRefusedByName() throws IOException {
        Path file = withTokenizer(bytesAndMerges(512), "mystery-pre");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(file, null));
        assertTrue(e.getMessage().contains("tokenizer.ggml.pre") && e.getMessage().contains("mystery-pre"),
                e.getMessage());
    }
}
